"""The filesystem, network and process sandbox of a student's kernel (bubblewrap).

Issue 8's grader runs each submission's kernel in a sandbox of its own, without Docker.
The layers, and what each protects against:

1. **Mount namespace** (``bwrap``): the whole filesystem read-only; ``/tmp``, ``/var/tmp``,
   ``/root``, ``/home``, ``/run``, ``/mnt``, ``/media``, ``/srv`` replaced by empty
   ``tmpfs`` (only the Python installation and the ``deeptheory`` package are put back,
   read-only); the homework's solutions (hidden tests), the grades folder (gradebook,
   other students' results and feedback) and the submissions folder hidden behind empty
   ``tmpfs`` too; the submission's own scratch directory the only writable place. Protects
   against reading hidden tests, the gradebook or other submissions, and against writing
   to the gradebook, the release or other students' files.
2. **Network, IPC, UTS and PID namespaces**: no network but loopback of its own (the
   grader talks to the kernel through unix sockets in the scratch directory); a ``/proc``
   that shows only the sandbox's processes; every process left in the sandbox (background
   processes, daemons that called ``setsid``) killed by the kernel of the OS when the
   sandbox's first process dies, which the grader ensures (``--die-with-parent``, then
   ``SIGKILL``).
3. **An unprivileged user** (when the grader runs as root; :func:`student_user`): an
   unused user id of its own per grading worker, with the rights of ``nobody``. Files
   private to the grader's user stay unreadable even if a mount is missed, and the
   process limit (which Linux counts per user, across the machine) counts the processes
   of that worker's kernel only, so a student cannot starve the kernels graded next to
   theirs.
4. **Resource limits** (:mod:`deeptheory.course.limits`, inside the sandbox before any
   student code): address space, CPU time, processes, file size. The grader adds the wall
   clock and the output size (:mod:`deeptheory.course.remote`).

Without a working ``bwrap`` (not installed, or user namespaces disabled for a non-root
grader), :func:`bubblewrap` returns None and the grader runs kernels with layers 3 and 4
only, and says so in its report (``isolation`` in each result).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HIDDEN_ROOTS",
    "NOBODY",
    "Sandbox",
    "bubblewrap",
    "isolation",
    "student_user",
]

#: Folders replaced by an empty tmpfs in every sandbox (where users keep their files).
HIDDEN_ROOTS = ("/tmp", "/var/tmp", "/root", "/home", "/run", "/mnt", "/media", "/srv")
#: The unprivileged user (and group) a root grader runs kernels as.
NOBODY = 65534
#: Grading workers run kernels as STUDENT_UIDS + worker index (ids no account uses).
STUDENT_UIDS = 1_990_000_000


def student_user(slot: int = 0) -> int:
    """The user id for the kernels of grading worker ``slot``: an id of its own that no
    account or group uses (``nobody``'s if it is taken)."""
    import grp
    import pwd

    uid = STUDENT_UIDS + slot
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return NOBODY
        except KeyError:
            pass
    return uid


@functools.lru_cache(maxsize=1)
def bubblewrap() -> str | None:
    """The path of a ``bwrap`` that works here (tried once), or None."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = Sandbox(scratch=None).wrap(["/bin/true"], bwrap=path)
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


def isolation() -> str:
    """What the grader's kernels run under on this machine, in words."""
    layers = []
    if bubblewrap():
        layers.append("bubblewrap (private filesystem view, no network, pid namespace)")
    if os.geteuid() == 0 and (bubblewrap() or others_can_run_python()):
        layers.append("an unprivileged user per worker")
    layers.append("resource limits")
    return ", ".join(layers)


def others_can_run_python() -> bool:
    """Whether a user other than the owner can run this Python and import deeptheory
    (every folder above them crossable by others): without bubblewrap, the grader runs
    kernels as an unprivileged user only then (a Python under ``/root`` is not)."""
    for path in python_paths():
        for folder in [path, *path.parents]:
            try:
                if not folder.stat().st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


def _ancestors(path: Path, root: str) -> list[Path]:
    """The folders strictly between ``root`` and ``path``, outermost first."""
    parts = []
    current = path.parent
    while str(current) != root and current != current.parent:
        parts.append(current)
        current = current.parent
    return parts[::-1]


def _under(path: Path, roots: tuple[str, ...]) -> str | None:
    for root in roots:
        if path == Path(root) or Path(root) in path.parents:
            return root
    return None


def python_paths() -> list[Path]:
    """What a kernel needs to read: the interpreter's installation, this environment's
    site-packages, and the ``deeptheory`` package (not the folder that holds it: for an
    editable install that is the repository, with the hidden tests)."""
    import deeptheory

    found = [
        Path(sys.base_prefix),
        Path(sys.prefix),
        Path(os.path.realpath(sys.executable)).parent,
        Path(deeptheory.__file__).resolve().parent,
    ]
    for entry in sys.path:
        if entry.endswith("site-packages") or entry.endswith("dist-packages"):
            found.append(Path(entry))
    unique: list[Path] = []
    for path in found:
        path = path.resolve()
        if path.exists() and not any(p == path or p in path.parents for p in unique):
            unique = [p for p in unique if path not in p.parents] + [path]
    return unique


@dataclass(frozen=True)
class Sandbox:
    """One kernel's sandbox.

    Args:
      scratch: the only writable folder (bound at the same path, so unix sockets made
        in it are reachable from the grader); None for a sandbox with no writable place.
      hide: further folders to hide (replaced by empty tmpfs), e.g. the course's
        repository (solutions, its git history, grades, submissions); the Python
        installation and the ``deeptheory`` package are put back read-only even if they
        are inside one of them (an editable install).
      user: user id to run as (see :mod:`deeptheory.course.limits`); applied by the
        command that runs inside, not by bwrap.
    """

    scratch: Path | None
    hide: tuple[Path, ...] = ()
    expose: tuple[Path, ...] = field(default_factory=tuple)

    def wrap(self, argv: list[str], *, bwrap: str | None = None) -> list[str]:
        """``argv`` run inside the sandbox: the ``bwrap`` command line."""
        line = [
            bwrap or bubblewrap() or "bwrap",
            "--die-with-parent",
            "--new-session",
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
        ]
        for root in HIDDEN_ROOTS:
            if Path(root).is_dir():
                line += ["--tmpfs", root]
        made: set[Path] = set()

        def folders(path: Path) -> list[str]:
            """``--dir`` for the ancestors of ``path`` inside a hidden root: bwrap would
            make them mode 0700, which the unprivileged user cannot cross."""
            root = _under(path, (*HIDDEN_ROOTS, *(str(h) for h in self.hide)))
            args = []
            for folder in _ancestors(path, root) if root else []:
                if folder not in made:
                    made.add(folder)
                    args += ["--perms", "0755", "--dir", str(folder)]
            return args

        for path in self.hide:  # first: the Python paths inside are put back below
            path = Path(path).resolve()
            if path.is_dir():
                line += [*folders(path), "--tmpfs", str(path)]
            elif path.exists():
                line += [*folders(path), "--ro-bind", "/dev/null", str(path)]
        for path in [*python_paths(), *self.expose]:
            line += [*folders(path), "--ro-bind", str(path), str(path)]
        if self.scratch is not None:
            scratch = Path(self.scratch).resolve()
            line += [*folders(scratch), "--bind", str(scratch), str(scratch)]
            line += ["--chdir", str(scratch)]
        return [*line, "--", *argv]
