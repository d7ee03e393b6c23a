"""The shared cache on real folders: real processes racing for a real lock, real virtualenvs.

Every test has a cache folder of its own (tmp_path); nothing under /var/cache is touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.cache import MARKER, Cache, FolderEntries

WORKER = Path(__file__).resolve().parent / "cache_worker.py"
MB = 1024**2
KEY_A, KEY_B, KEY_C, KEY_D = ("a" * 16, "b" * 16, "c" * 16, "d" * 16)

pytestmark = pytest.mark.timeout(300)


def worker(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def runs(python: str) -> bool:
    return subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True).returncode == 0


def test_two_processes_asking_at_once_build_it_once_and_both_get_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    outs = [tmp_path / "first.json", tmp_path / "second.json"]
    processes = [worker("venv", str(cache), KEY_A, str(out)) for out in outs]
    for process in processes:
        finished(process)
    got = [json.loads(out.read_text()) for out in outs]
    assert sorted(g["built"] for g in got) == [False, True], got
    assert len((cache / "builds.log").read_text().splitlines()) == 1
    assert got[0]["where"] == got[1]["where"] == str(cache / KEY_A)
    assert (cache / KEY_A / MARKER).read_text() == KEY_A
    assert runs(str(cache / KEY_A / "bin" / "python"))
    reused = next(g for g in got if not g["built"])
    assert reused["summary"].startswith("reused from the cache"), reused


def test_a_builder_killed_half_way_leaves_an_entry_that_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    builder = worker("venv", str(cache), KEY_A, str(tmp_path / "killed.json"), "--hang")
    wait_for(cache / f"{KEY_A}.hanging", builder)
    os.kill(builder.pid, signal.SIGKILL)
    builder.wait()
    assert (cache / KEY_A / "bin").is_dir() and not (cache / KEY_A / MARKER).exists()

    # The kernel dropped the dead builder's locks: this does not wait, and rebuilds.
    second = worker("venv", str(cache), KEY_A, str(tmp_path / "second.json"))
    finished(second)
    got = json.loads((tmp_path / "second.json").read_text())
    assert got["built"] and got["waited_s"] < 5, got
    assert "replacing a half-built one" in got["summary"]
    assert len((cache / "builds.log").read_text().splitlines()) == 2
    assert runs(str(cache / KEY_A / "bin" / "python"))


def test_a_folder_without_its_marker_is_rebuilt_and_a_wrong_marker_too(tmp_path: Path) -> None:
    entries = FolderEntries(tmp_path)
    (tmp_path / KEY_A).mkdir()
    (tmp_path / KEY_A / "junk").write_text("left by a killed run")
    (tmp_path / KEY_B).mkdir()
    (tmp_path / KEY_B / MARKER).write_text("another key")
    cache = Cache(tmp_path, entries, "entry")

    def build(where: str) -> None:
        Path(where).mkdir()
        Path(where, "made").write_text("x")

    for key in (KEY_A, KEY_B):
        with cache.use(key, build) as use:
            assert use.built and use.replaced_half_built
            assert not (tmp_path / key / "junk").exists() and (tmp_path / key / "made").is_file()
        with cache.use(key, lambda where: pytest.fail("published: not built again")) as use:
            assert not use.built


def test_a_failed_build_leaves_nothing_and_the_next_ask_builds(tmp_path: Path) -> None:
    cache = Cache(tmp_path, FolderEntries(tmp_path), "entry")

    def broken(where: str) -> None:
        Path(where).mkdir()
        raise RuntimeError("pip failed")

    with pytest.raises(RuntimeError, match="pip failed"), cache.use(KEY_A, broken):
        pass
    assert not (tmp_path / KEY_A).exists()
    with cache.use(KEY_A, lambda where: Path(where).mkdir()) as use:
        assert use.built


def filler(size: int):
    def build(where: str) -> None:
        Path(where).mkdir()
        Path(where, "blob").write_bytes(os.urandom(size))

    return build


def test_eviction_removes_the_least_recently_used_until_under_the_cap(tmp_path: Path) -> None:
    cache = Cache(tmp_path, FolderEntries(tmp_path), "entry", max_bytes=int(2.5 * MB))
    for key in (KEY_A, KEY_B):
        with cache.use(key, filler(MB)) as use:
            assert use.evicted == []
    with cache.use(KEY_A, filler(MB)) as use:
        assert not use.built  # a reuse: KEY_A is now more recent than KEY_B
    with cache.use(KEY_C, filler(MB)) as use:
        assert [key for key, _size in use.evicted] == [KEY_B]
        assert use.evicted[0][1] >= MB
        assert use.notes and "removed 1 least recently used" in use.notes[0] and KEY_B in use.notes[0]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [KEY_A, KEY_C]
    index = json.loads((tmp_path / ".index.json").read_text())["entries"]
    assert set(index) == {KEY_A, KEY_C} and index[KEY_C]["size"] >= MB and index[KEY_C]["build_s"] is not None


def test_eviction_never_removes_an_entry_another_process_uses(tmp_path: Path) -> None:
    cache = Cache(tmp_path, FolderEntries(tmp_path), "entry", max_bytes=int(2.5 * MB))
    ready = tmp_path / "ready"
    holder = worker("hold", str(tmp_path), KEY_A, str(ready))
    try:
        wait_for(ready, holder)
        for key in (KEY_B, KEY_C):
            with cache.use(key, filler(MB)):
                pass
        # Over the cap: KEY_A is the least recently used, but in use; KEY_B goes instead.
        with cache.use(KEY_D, filler(MB)) as use:
            assert [key for key, _size in use.evicted] == [KEY_B]
        assert (tmp_path / KEY_A / MARKER).is_file()
    finally:
        holder.kill()
        holder.wait()
    # Its user gone, the oldest entry is the first to go at the next eviction.
    cache.max_bytes = int(1.5 * MB)
    assert [key for key, _size in cache.evict()] == [KEY_A, KEY_C]


def test_half_built_entries_are_evicted_first_and_unknown_ones_are_measured(tmp_path: Path) -> None:
    cache = Cache(tmp_path, FolderEntries(tmp_path), "entry", max_bytes=100 * MB)
    (tmp_path / KEY_A).mkdir()  # a killed build's leftover, unknown to the index
    (tmp_path / KEY_A / "partial").write_bytes(os.urandom(MB))
    with cache.use(KEY_B, filler(MB)) as use:
        assert [key for key, _size in use.evicted] == [KEY_A]
    assert not (tmp_path / KEY_A).exists()


def test_an_entry_over_the_per_entry_limit_serves_its_users_then_goes(tmp_path: Path) -> None:
    cache = Cache(tmp_path, FolderEntries(tmp_path), "service virtualenv", max_bytes=100 * MB, max_entry_bytes=MB // 2)
    with cache.use(KEY_A, filler(MB)) as first:
        assert first.built and not first.kept
        assert any("not cached" in note and "per-entry limit" in note for note in first.notes), first.notes
        with cache.use(KEY_A, filler(MB)) as second:
            assert not second.built and not second.kept
        assert (tmp_path / KEY_A / "blob").is_file(), "removed while the first user still held it"
    assert not (tmp_path / KEY_A).exists()
    assert KEY_A not in json.loads((tmp_path / ".index.json").read_text())["entries"]


def test_local_runner_venv_two_processes_one_build(tmp_path: Path) -> None:
    """Issue #13: two workers preparing the local runner at once; one builds, both run it."""
    if os.geteuid() != 0:
        pytest.skip("the local runner virtualenv is only made for a root grader")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.17.0\n")
    env = {"GRADER_LOCAL_RUNNER_CACHE": str(tmp_path / "runners")}
    outs = [tmp_path / "first.json", tmp_path / "second.json"]
    processes = [worker("runner", str(requirements), str(out), env=env) for out in outs]
    for process in processes:
        finished(process)
    got = [json.loads(out.read_text()) for out in outs]
    if got[0]["python"] == sys.executable:
        pytest.skip("the grader's own interpreter is usable by the sandbox user: no virtualenv is made")
    assert got[0]["python"] == got[1]["python"]
    notes = sorted(g["notes"][0] for g in got)
    assert " built in " in notes[0] and "reused from the cache, after waiting" in notes[1], notes
    done = subprocess.run(
        [got[0]["python"], "-c", "import six; print(six.__version__)"], capture_output=True, text=True
    )
    assert done.stdout.strip() == "1.17.0", done.stderr
