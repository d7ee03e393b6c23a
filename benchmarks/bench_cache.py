"""Benchmark: what the shared cache's locks, index and eviction add to a grading.

Prints milliseconds for: one reuse of a published folder entry (two flocks, the marker,
an index rewrite with fsync); an eviction pass over N folder entries the index knows,
with nothing to remove (what every build pays) and removing half of them; an eviction
pass over M images of a repository of its own (listing and measuring on the engine),
built FROM the python:3.11-slim stand-in and removed afterwards. To compare with what
a build costs: seconds for a virtualenv, minutes for a requirements layer.

    .venv/bin/python benchmarks/bench_cache.py [--entries 100] [--images 20] [--uses 200]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from grader.sandbox.cache import Cache, FolderEntries, ImageEntries


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def folder_figures(entries: int, uses: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def build(where: str) -> None:
            Path(where).mkdir()
            Path(where, "blob").write_bytes(b"x" * 4096)

        cache = Cache(root, FolderEntries(root), "bench entry")
        keys = [f"{i:016x}" for i in range(entries)]
        for key in keys:
            with cache.use(key, build):
                pass
        timings = []
        for _ in range(uses):
            started = time.perf_counter()
            with cache.use(keys[0], build):
                pass
            timings.append(time.perf_counter() - started)
        cache.max_bytes = 10 * 1024**3
        started = time.perf_counter()
        cache.evict()
        nothing = time.perf_counter() - started
        per_entry = FolderEntries(root).size(keys[0])
        cache.max_bytes = per_entry * entries // 2
        started = time.perf_counter()
        removed = cache.evict()
        half = time.perf_counter() - started
        return {
            "reuse_median_ms": _ms(statistics.median(timings)),
            "reuse_p95_ms": _ms(sorted(timings)[int(uses * 0.95)]),
            f"evict_pass_{entries}_entries_nothing_removed_ms": _ms(nothing),
            f"evict_pass_removing_{len(removed)}_ms": _ms(half),
        }


def image_figures(count: int) -> dict[str, float]:
    from grader.engine.client import connect

    client = connect()
    nonce = uuid.uuid4().hex[:12]
    repo = f"churn-grader-bench/cache-{nonce}"
    try:
        with tempfile.TemporaryDirectory() as tmp:

            def build(tag: str) -> None:
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w") as tar:
                    data = f"FROM python:3.11-slim\nLABEL bench={tag}\n".encode()
                    info = tarfile.TarInfo("Dockerfile")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                buffer.seek(0)
                client.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True)

            cache = Cache(
                Path(tmp), ImageEntries(client, repo, "python:3.11-slim"), "bench image", max_bytes=10 * 1024**3
            )
            for i in range(count):
                with cache.use(f"{i:016x}", build):
                    pass
            started = time.perf_counter()
            cache.evict()
            return {f"evict_pass_{count}_images_nothing_removed_ms": _ms(time.perf_counter() - started)}
    finally:
        for image in client.images.list(name=repo):
            for tag in image.tags:
                client.images.remove(tag, force=True)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--uses", type=int, default=200)
    args = parser.parse_args()
    figures = folder_figures(args.entries, args.uses)
    if args.images:
        figures.update(image_figures(args.images))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
