"""A separate process that asks a shared cache for an entry, for tests/sandbox/test_cache*.py.

    cache_worker.py venv FOLDER KEY OUT [--hang]   a virtualenv entry of a folder cache
    cache_worker.py hold FOLDER KEY READY          use an entry until killed
    cache_worker.py runner REQUIREMENTS OUT        grader.sandbox.local.runner.local_runner_python

Writes what it got (where, built, waited, notes) as JSON to OUT. `--hang` stops the
build half-way (the virtualenv made, no marker yet), touches FOLDER/KEY.hanging and waits
to be killed. Every build appends a line to FOLDER/builds.log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from grader.sandbox.cache import Cache, FolderEntries
from grader.sandbox.local.runner import local_runner_python
from grader.sandbox.policy import load_policy


def folder_cache(folder: Path) -> Cache:
    return Cache(folder, FolderEntries(folder), "test virtualenv")


def build_venv(folder: Path, key: str, hang: bool):
    def build(where: str) -> None:
        with (folder / "builds.log").open("a") as log:
            log.write(f"{os.getpid()} {key}\n")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", where], check=True)
        if hang:
            (folder / f"{key}.hanging").touch()
            time.sleep(600)

    return build


def main(mode: str, *args: str) -> None:
    if mode == "venv":
        folder, key, out = Path(args[0]), args[1], Path(args[2])
        with folder_cache(folder).use(key, build_venv(folder, key, "--hang" in args)) as use:
            out.write_text(
                json.dumps({"where": use.where, "built": use.built, "waited_s": use.waited_s, "summary": use.summary})
            )
    elif mode == "hold":
        folder, key, ready = Path(args[0]), args[1], Path(args[2])
        with folder_cache(folder).use(key, build_venv(folder, key, False)):
            ready.touch()
            time.sleep(600)
    elif mode == "runner":
        requirements, out = Path(args[0]), Path(args[1])
        with local_runner_python(load_policy().cache, requirements=requirements) as (python, notes):
            out.write_text(json.dumps({"python": python, "notes": notes}))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(*sys.argv[1:])
