"""The local backend's one confinement (`grader.sandbox.local.confinement`), as the service uses it.

A real service under load runs dozens of threads, each reserving address space it never
touches (a malloc arena, a stack, OpenBLAS buffers). Memory must be bounded by what is
used (a cgroup, as Docker does), not by address space: the local service once died of
"cannot allocate memory for thread-local data" at 2 GB of address space and 300 MB in use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.sandbox.api import Mount
from grader.sandbox.local.confinement import ProcessLimits, confinement
from grader.sandbox.local.runner import local_runner_python
from grader.sandbox.policy import load_policy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = os.geteuid() == 0 and shutil.which("unshare") is not None

THREADS = r"""
import threading, numpy as np
a = np.ones((256, 256))
def work():
    for _ in range(20):
        blob = bytearray(2 << 20)   # malloc from this thread's arena
        (a @ a).sum()               # OpenBLAS from this thread
barrier = threading.Barrier(48)
def start():
    barrier.wait()
    work()
threads = [threading.Thread(target=start) for _ in range(48)]
[t.start() for t in threads]
[t.join() for t in threads]
print("survived", threading.active_count(), open("/proc/self/status").read().split("VmPeak:")[1].split()[0], "kB")
"""


@pytest.mark.skipif(not ROOT, reason="the private root and cgroup need root and unshare")
def test_a_threaded_numeric_process_lives_within_the_service_memory_limit(tmp_path: Path) -> None:
    policy = load_policy()
    service = policy.service
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "threads.py").write_text(THREADS)
    limits = ProcessLimits(service.memory_mb, service.cpus, service.pids, service.tmpfs_mb, 64, 120)
    with local_runner_python(policy.cache) as (python, _notes):
        readable = [Path(python).parent.parent]
        with confinement([Mount(path=workdir, read_only=True)], readable, workdir, limits) as confined:
            assert any(item.startswith("cgroup:") for item in confined.isolation), confined.not_enforced
            done = subprocess.run(
                [*confined.prefix, python, str(workdir / "threads.py")],
                cwd=workdir,
                preexec_fn=confined.preexec,
                capture_output=True,
                text=True,
                timeout=300,
                env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "OPENBLAS_NUM_THREADS": "2"},
            )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "survived" in done.stdout
    peak_kb = int(done.stdout.split()[-2])
    # The point of the test: far more address space than the memory limit, and still alive.
    assert peak_kb > service.memory_mb * 1024, f"only {peak_kb} kB of address space: the test proves nothing"
