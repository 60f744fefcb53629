"""Grading the adversarial class (``threats.py``) once, safely, for every test here.

The whole class is graded by ONE run of the CLI (``python -m deeptheory course grade``,
its default engine, ``--jobs 2``), then the control alone by a second run; the tests
only read what these runs left.

Safety, should the grader's own limits fail (the memory hog, the output flood, the
background processes are real): the CLI runs in a process group of its own, started
with hard limits that every process it starts inherits and cannot raise:

* RLIMIT_AS = 8 GiB per process (the memory hog stops there: 40 GB are asked in steps of
  256 MB, each written; the machine has 24 GiB and two grading kernels run at a time),
* RLIMIT_NPROC = the user's current tasks + 1024 (ignored when running as root, where
  only the grader's own limits count; the cases start 3 processes at most, no fork bomb),
* RLIMIT_CORE = 0 (killed kernels leave no core files),
* a timeout of 20 minutes for each run, after which its whole process group is killed.

The class, its output folders and the control's run live in a fresh folder under the
repository's ``build/`` (ignored by git, removed afterwards), like an instructor's
``grades/``: not under /tmp, which the sandbox hides wholesale, so that the explicit hiding
of the submissions and output folders is what is tested.

After a run, processes that carry its environment marker or the unique arguments of the
background ``sleep`` processes of ``c09`` are recorded (a test asserts there are none)
and killed, by pid. The repository files a case tries to change (the release and the
hidden tests' source) are restored if a run changed them, and reported.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from threats import (
    CANARY_OUT,
    CANARY_SUBMISSIONS,
    NAME,
    ROOT,
    SLEEP_DAEMON,
    SLEEP_POPEN,
    write_class,
)

CAP_MEMORY = 8 * 2**30
CAP_EXTRA_TASKS = 1024
RUN_TIMEOUT = 20 * 60
JOBS, CELL_TIMEOUT, WALL_CLOCK = 2, 12, 300
#: repository files that ``c13`` tries to append to
PROTECTED = [
    ROOT / "exercises" / f"{NAME}.ipynb",
    ROOT / "solutions" / NAME / f"{NAME}.py",
]


def _user_tasks() -> int:
    """Threads of this user (what RLIMIT_NPROC counts)."""
    count, uid = 0, os.getuid()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines()
            )
        except (OSError, ValueError):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


def _capped(tasks: int):
    def limit() -> None:  # runs in the child, between fork and exec
        for which, value in (
            (resource.RLIMIT_AS, CAP_MEMORY),
            (resource.RLIMIT_NPROC, tasks),
            (resource.RLIMIT_CORE, 0),
        ):
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))

    return limit


def _processes(marker: str) -> dict[int, str]:
    """pid → command line of every process of the run still alive: it carries the
    run's environment marker, or is one of c09's sleeps."""
    found = {}
    needles = [f"sleep\0{SLEEP_POPEN}".encode(), f"sleep\0{SLEEP_DAEMON}".encode()]
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            environ = b""
        if any(n in cmdline for n in needles) or marker.encode() in environ:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(
                errors="replace"
            )
    found.pop(os.getpid(), None)
    return found


@dataclass
class Run:
    """One CLI run and what it left."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    out: Path
    submissions: Path
    results: dict[str, dict] = field(default_factory=dict)
    survivors: dict[int, str] = field(default_factory=dict)  # processes after the run

    def csv_rows(self, name: str) -> list[dict[str, str]]:
        path = self.out / name
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))


def grade(submissions: Path, out: Path) -> Run:
    """Grade ``submissions`` with the CLI under the caps; kill what outlives it."""
    marker = f"adversarial-{uuid.uuid4().hex}"
    env = dict(os.environ, DEEPTHEORY_ADVERSARIAL_RUN=marker)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    command = [
        sys.executable, "-m", "deeptheory", "course", "grade", NAME, str(submissions),
        "--out", str(out), "--jobs", str(JOBS), "--cell-timeout", str(CELL_TIMEOUT),
        "--wall-clock", str(WALL_CLOCK), "--no-progress",
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: killed as one on timeout
        preexec_fn=_capped(_user_tasks() + CAP_EXTRA_TASKS),
    )
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += f"\n[adversarial] killed after {RUN_TIMEOUT} s"
    seconds = time.perf_counter() - start
    time.sleep(1.0)
    survivors = _processes(marker)
    for pid in survivors:  # our own run's processes, by pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run = Run(proc.returncode, stdout, stderr, seconds, out, submissions)
    run.survivors = survivors
    for path in sorted((out / "results").glob("*.json")):
        run.results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return run


def digest(folder: Path) -> dict[str, str]:
    """name → sha256 of every file in ``folder``."""
    found = {}
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as file:
            found[path.name] = hashlib.file_digest(file, "sha256").hexdigest()
    return found


@dataclass
class ClassRun:
    run: Run
    paths: dict[str, Path]  # student → submission
    before: dict[str, str]  # the submissions folder's digest, before and after
    after: dict[str, str]
    changed_repo_files: list[str]  # restored after the run
    control: bytes  # the control's submission as written (c13 tries to overwrite it)
    sources: dict[str, str]  # student → the submission's text as written (< 10 MB)


@pytest.fixture(scope="module")
def workdir():
    """A fresh folder under the repository's build/, removed afterwards."""
    (ROOT / "build").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="adversarial-", dir=ROOT / "build"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(workdir) -> ClassRun:
    """The adversarial class, graded in one run."""
    base = workdir / "class"
    submissions, out = base / "submissions", base / "grades"
    submissions.mkdir(parents=True)
    out.mkdir()
    paths = write_class(submissions, out)
    (submissions / "notes.txt").write_text(CANARY_SUBMISSIONS + "\n")
    (out / "canary.txt").write_text(CANARY_OUT + "\n")
    before = digest(submissions)
    control = paths["a_control"].read_bytes()
    sources = {
        student: path.read_text(encoding="utf-8", errors="replace")
        if path.stat().st_size < 10 * 2**20
        else ""
        for student, path in paths.items()
    }
    saved = {path: path.read_bytes() for path in PROTECTED}
    changed = []
    try:
        run = grade(submissions, out)
    finally:
        for path, data in saved.items():
            if path.read_bytes() != data:
                changed.append(str(path.relative_to(ROOT)))
                path.write_bytes(data)
    print(f"\nadversarial class graded in {run.seconds:.0f} s\n{run.stdout}")
    return ClassRun(run, paths, before, digest(submissions), changed, control, sources)


@pytest.fixture(scope="module")
def control_alone(graded, workdir) -> Run:
    """The control submission graded on its own (after the class: one run at a time)."""
    base = workdir / "control"
    (base / "submissions").mkdir(parents=True)
    (base / "submissions" / "a_control.ipynb").write_bytes(graded.control)
    return grade(base / "submissions", base / "grades")
