"""Run a command under resource limits: ``python -m deeptheory.course.limits [options] --
COMMAND ...``.

The grader starts each student's kernel through this launcher, so that the limits apply
before any student code runs and are inherited by every process the kernel starts
(``setrlimit`` then ``exec``; limits can be lowered by the student's code, never raised):

* ``--memory BYTES``: the address space (RLIMIT_AS). An allocation beyond it fails with
  ``MemoryError`` in Python (or ``RuntimeError`` in torch) instead of swapping the machine
  to death. Threads reserve address space too: leave a few hundred MB above what the
  kernel itself needs (~1 GB with torch imported).
* ``--cpu SECONDS``: CPU time (RLIMIT_CPU); the kernel is killed by SIGXCPU/SIGKILL
  beyond it, also when it ignores interrupts.
* ``--processes N``: processes and threads of the user (RLIMIT_NPROC). Linux counts all
  of the user's processes, so this bounds fork bombs only for an unprivileged grading
  user, and root ignores it; the grader also kills the kernel's whole process group.
* ``--file-size BYTES``: the largest file the kernel may write (RLIMIT_FSIZE).
* ``--user UID``: run as this user and group id (when started as root): the grader runs
  students' kernels as an unused id per worker (:func:`deeptheory.course.sandbox.student_user`),
  which cannot read files private to the grader's user, and makes ``--processes`` count
  only that worker's kernel's processes.

Wall-clock limits and output size are enforced by the grader, which reads the kernel's
messages (:mod:`deeptheory.course.remote`).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

LIMITS = {
    "memory": resource.RLIMIT_AS,
    "cpu": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
}


def apply_limits(**limits: int | None) -> None:
    """Lower each given limit (soft and hard) to the value; None leaves it alone."""
    for name, value in limits.items():
        if value is None:
            continue
        if value < 0:
            raise ValueError(f"{name} must be >= 0; got {value}")
        which = LIMITS[name]
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def switch_user(uid: int) -> None:
    """Become user and group ``uid`` with no supplementary groups (needs root)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:  # pragma: no cover - kernel refused
        raise OSError(f"could not switch to user {uid}")


def command(
    argv: list[str],
    *,
    memory: int | None = None,
    cpu: int | None = None,
    processes: int | None = None,
    file_size: int | None = None,
    user: int | None = None,
    python: str | None = None,
    orphan: bool = False,
) -> list[str]:
    """The command line that runs ``argv`` under these limits (``python``: the
    interpreter that runs the launcher, default this one). ``orphan``: drop
    ``JPY_PARENT_PID``, with which a kernel exits when it believes its parent is gone
    (in a pid namespace its parent is always pid 1)."""
    line = [python or sys.executable, "-m", "deeptheory.course.limits"]
    for flag, value in (
        ("--memory", memory),
        ("--cpu", cpu),
        ("--processes", processes),
        ("--file-size", file_size),
        ("--user", user),
    ):
        if value is not None:
            line += [flag, str(int(value))]
    if orphan:
        line.append("--orphan")
    return [*line, "--", *argv]


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deeptheory.course.limits")
    parser.add_argument("--memory", type=int, help="address space, bytes")
    parser.add_argument("--cpu", type=int, help="CPU time, seconds")
    parser.add_argument("--processes", type=int, help="processes of the user")
    parser.add_argument("--file-size", type=int, help="largest file written, bytes")
    parser.add_argument("--user", type=int, help="user and group id to switch to")
    parser.add_argument("--orphan", action="store_true", help="drop JPY_PARENT_PID")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    ns = parser.parse_args(args)
    argv = ns.argv[1:] if ns.argv[:1] == ["--"] else ns.argv
    if not argv:
        parser.error("give the command after --")
    if ns.orphan:
        os.environ.pop("JPY_PARENT_PID", None)
    if ns.user is not None and os.getuid() != ns.user:
        switch_user(ns.user)  # first: RLIMIT_NPROC is checked against the new user
    apply_limits(
        memory=ns.memory, cpu=ns.cpu, processes=ns.processes, file_size=ns.file_size
    )
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
