"""Start a Jupyter kernel as the candidate: the sandbox user, in a home of its own.

    python candidate_kernel.py [--trace TRACE_FILE] KERNEL_COMMAND...

Run by run_notebooks.py in front of the kernel command. As root (the Docker sandbox),
it reads the connection file the runner wrote (root's, mode 0600), drops to the user in
$CANDIDATE_UID for good, writes that user's own copy of the file and execs the kernel.
As anyone else (the local backend) it only execs the kernel. Either way the kernel, and any
Python it starts, imports kernel_site/sitecustomize.py first: MLflow's pre-skops defaults.

`--trace`: the runner's file for the record of what ran (kernel_site/kernel_trace.py). It is
opened for appending before privileges are dropped, and only the descriptor passes to the
kernel: in the Docker sandbox the kernel can write to it but can neither read, replace nor
remove the file, which stays the runner's.
"""

from __future__ import annotations

import os
import sys
import tempfile

KERNEL_SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_site")


def _open_trace(path: str) -> None:
    """Hand the kernel (this very process, after exec) a descriptor for the trace file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    except OSError:
        return
    os.set_inheritable(fd, True)
    os.environ.update(GRADER_TRACE_FD=str(fd), GRADER_TRACE_PID=str(os.getpid()))


def main() -> None:
    command = sys.argv[1:]
    if command[:1] == ["--trace"]:
        _open_trace(command[1])
        command = command[2:]
    if os.getuid() == 0:
        uid = int(os.environ.get("CANDIDATE_UID", "10001"))
        at = command.index("-f") + 1
        with open(command[at], "rb") as handle:
            connection = handle.read()
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            sys.exit("candidate_kernel: could not drop to the sandbox user")
        home = tempfile.mkdtemp(prefix="candidate-home-", dir="/tmp")
        command[at] = os.path.join(home, "kernel.json")
        with open(command[at], "wb") as handle:
            handle.write(connection)
        os.environ.update(HOME=home, USER="candidate", LOGNAME="candidate")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [KERNEL_SITE, os.environ.get("PYTHONPATH")]))
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
