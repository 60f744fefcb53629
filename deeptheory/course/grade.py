"""``deeptheory course grade HOMEWORK SUBMISSIONS``: autograde a class, in parallel.

For an instructor who has collected the class's notebooks in one folder (only read).
A pool of long-lived worker processes (:mod:`deeptheory.course.worker`, one per core by
default) grades one submission at a time each, with the engine chosen:

* ``secure`` (default, :mod:`deeptheory.course.secure`): the student's code runs in a
  sandboxed kernel of its own (bubblewrap, an unprivileged user, resource limits; the course
  repository, the output folder and the submissions folder hidden), every test runs in
  the worker, which never executes student code; a kernel that dies or hangs is replaced
  and grading goes on;
* ``nbgrader``: nbgrader's autograde in a fresh course directory per submission (student
  code and tests in one kernel: not a boundary; kept for comparison).

Both have a per-cell timeout, and a per-submission wall clock (the worker and the
student's kernel are killed; only that submission's row is affected).

Output, in ``--out`` (default ``grades/<homework>``)::

    grades.csv                 student, score, max_score, flags, …, one column per cell
    review.csv                 the manual-review list: flagged students and the reasons
    feedback/<student>.html    what the student gets back: hidden tests removed
    results/<student>.json     one per submission, written when it is done
    logs/<student>.log         for the instructor: every failing cell with its message
                               (hidden tests' too), or nbgrader's log

Every file is written atomically as soon as its submission is graded, so an interrupted
run loses nothing already graded, and running the command again grades only what is
missing or changed (a result is reused while the submission, the homework source, the
library version and the timeout are unchanged; ``--force`` regrades everything).

Submissions are found as ``SUBMISSIONS/<student>.ipynb``,
``SUBMISSIONS/<student>/<homework>.ipynb`` or ``SUBMISSIONS/<student>/<homework>/<homework>.ipynb``
(nbgrader's ``submitted/`` folder). A file that is not a valid notebook gets the flag
``unreadable notebook``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deeptheory.course.worker import fallback_feedback, write_atomic

STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


@dataclass(frozen=True)
class GradeResult:
    """One graded submission, as in ``results/<student>.json``."""

    student: str
    score: float
    max_score: float
    cells: dict[str, float]  # grade_id → points scored
    flags: tuple[str, ...]  # "timeout", "kernel died", "reference used", "tampering", …
    needs_manual_grade: bool
    seconds: float  # wall time spent grading it (0 when reused from a previous run)
    feedback: str | None  # path of the feedback page

    @classmethod
    def from_json(cls, data: dict[str, Any], *, reused: bool = False) -> GradeResult:
        return cls(
            student=data["student"],
            score=float(data["score"]),
            max_score=float(data["max_score"]),
            cells={k: float(v) for k, v in data["cells"].items()},
            flags=tuple(data["flags"]),
            needs_manual_grade=bool(data["needs_manual_grade"]),
            seconds=0.0 if reused else float(data["seconds"]),
            feedback=data.get("feedback"),
        )


def find_submissions(name: str, folder: Path) -> dict[str, Path]:
    """student → notebook: ``folder/<student>.ipynb``, ``folder/<student>/<name>.ipynb`` or
    ``folder/<student>/<name>/<name>.ipynb`` (nbgrader's ``submitted/`` layout).

    Raises:
      FileNotFoundError: ``folder`` is missing or holds no submission.
      ValueError: a student name is not a plain file name, or appears twice.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix == ".ipynb":
            student, notebook = path.stem, path
        elif path.is_dir() and (path / f"{name}.ipynb").is_file():
            student, notebook = path.name, path / f"{name}.ipynb"
        elif path.is_dir() and (path / name / f"{name}.ipynb").is_file():
            student, notebook = path.name, path / name / f"{name}.ipynb"  # nbgrader's
        else:
            continue
        if not STUDENT_NAME.match(student):
            raise ValueError(
                f"submission {path}: the student name {student!r} must be letters, "
                "digits and _ . @ + - (it names files and gradebook rows)"
            )
        if student in found:
            raise ValueError(f"student {student!r} has two submissions in {folder}")
        found[student] = notebook
    if not found:
        raise FileNotFoundError(
            f"no submission in {folder}: expected <student>.ipynb or "
            f"<student>/{name}.ipynb"
        )
    return found


def default_jobs() -> int:
    """One worker per available core, at most 8 (each holds a kernel with torch)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def grade_cells(source: Any) -> dict[str, float]:
    """grade_id → points of every graded cell of a source notebook, in order."""
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def _unreadable(path: Path) -> str | None:
    """Why ``path`` is not a notebook nbgrader can grade, or None."""
    import nbformat

    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as error:  # JSON, schema or encoding: all mean "not gradable"
        return type(error).__name__
    return None


def _precheck(path: Path, engine: str) -> str | None:
    """Why the parent does not send ``path`` to a worker, or None. The secure engine
    reads submissions defensively itself (size, JSON, nbformat, homework)."""
    return _unreadable(path) if engine == "nbgrader" else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Worker:
    """One ``python -m deeptheory.course.worker`` process and its student kernels."""

    def __init__(
        self, index: int, logs: Path, env: dict[str, str], cwd: Path | None = None
    ) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stderr = open(logs / f"worker{index}.log", "a", encoding="utf-8")
        env = dict(env, DEEPTHEORY_GRADER_SLOT=str(index))  # its kernels' own user
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deeptheory.course.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
            start_new_session=True,  # its own process group, killed as one
            cwd=cwd,
        )
        self.ready = False

    def send(self, task: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next reply, or None on timeout; raises EOFError if the worker died.

        A line that is not a JSON object (which the worker never writes, but a process
        it started might) is logged and skipped."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the grading worker exited")
            try:
                reply = json.loads(line)
            except ValueError:
                reply = None
            if isinstance(reply, dict):
                return reply
            self.stderr.write(f"[grader] not a reply, skipped: {line[:200]!r}\n")
            self.stderr.flush()

    def kill(self) -> None:
        """Kill the worker, its process group and every kernel it started."""
        kernels = _children_by_parent_pid(self.proc.pid)
        for pid in [self.proc.pid, *kernels]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait()
        self._close_files()

    def close(self) -> None:
        """Let the worker finish (stdin closed); kill it if it does not within 30 s."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=30)
            except (subprocess.TimeoutExpired, OSError):
                self.kill()
                return
        self._close_files()

    def _close_files(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def _children_by_parent_pid(parent: int) -> list[int]:
    """Kernels started by ``parent``: jupyter_client gives them ``JPY_PARENT_PID``."""
    found = []
    marker = f"JPY_PARENT_PID={parent}".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _write_csv(path: Path, results: dict[str, GradeResult], cells: Iterable[str]):
    cells = list(cells)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["student", "score", "max_score", "flags", "needs_manual_grade", *cells]
    )
    for student in sorted(results):
        r = results[student]
        writer.writerow(
            [
                student,
                f"{r.score:g}",
                f"{r.max_score:g}",
                "; ".join(r.flags),
                int(r.needs_manual_grade),
                *(f"{r.cells.get(c, 0.0):g}" for c in cells),
            ]
        )
    write_atomic(path, buffer.getvalue())


def _write_review(path: Path, results: dict[str, GradeResult]) -> None:
    """The manual-review list: one row per flagged submission, with the reasons."""
    from deeptheory.course.secure import needs_review

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "reasons"])
    for student in sorted(results):
        r = results[student]
        if r.needs_manual_grade:
            reasons = [f for f in r.flags if needs_review([f])] or list(r.flags)
            writer.writerow(
                [student, f"{r.score:g}", f"{r.max_score:g}", "; ".join(reasons)]
            )
    write_atomic(path, buffer.getvalue())


def format_table(
    results: dict[str, GradeResult],
    *,
    expected: dict[str, tuple[float, tuple[str, ...]]] | None = None,
) -> str:
    """The grade table printed at the end of a run; ``expected`` adds a column of
    student → (score, flags), marking each row that differs with ``!``."""
    width = max([7, *(len(s) for s in results)])
    head = f"{'student':<{width}}  {'score':>5}  {'max':>4}  flags"
    if expected is not None:
        head = f"{head:<{width + 40}}  expected"
    lines = [head]
    for student in sorted(results):
        r = results[student]
        flags = ", ".join(r.flags) or "-"
        line = f"{student:<{width}}  {r.score:>5g}  {r.max_score:>4g}  {flags}"
        if expected is not None:
            if student in expected:
                score, want = expected[student]
                mark = "  " if (r.score, r.flags) == (score, tuple(want)) else "! "
                line = f"{line:<{width + 40}}{mark}{score:g} {', '.join(want) or '-'}"
            else:
                line = f"{line:<{width + 40}}! (not in the sample class)"
        lines.append(line)
    return "\n".join(lines)


def _prepare_template(name: str, source: Any, template: Path) -> None:
    """A course directory with the source notebook and a gradebook, ready to copy."""
    import nbformat
    from nbgrader.apps import NbGraderAPI

    from deeptheory.course.nbgrader_course import nbgrader_config

    (template / "source" / name).mkdir(parents=True)
    nbformat.write(source, template / "source" / name / f"{name}.ipynb")
    result = NbGraderAPI(config=nbgrader_config(template)).generate_assignment(
        name, force=True
    )
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not generate {name}:\n{result['log']}")
    shutil.rmtree(template / "release", ignore_errors=True)


def grade_submissions(
    name: str,
    source: Any,
    submissions: dict[str, Path],
    out: Path,
    *,
    jobs: int | None = None,
    cell_timeout: int = 30,
    wall_clock: float = 600.0,
    feedback: bool = True,
    force: bool = False,
    progress: bool = True,
    on_result: Callable[[GradeResult], None] | None = None,
    engine: str = "secure",
    hide: Iterable[Path] = (),
    memory: int | None = 4 * 2**30,
) -> dict[str, GradeResult]:
    """Autograde ``submissions`` (student → notebook path) against ``source``.

    Args:
      name: the homework (nbgrader assignment) name.
      source: the instructor notebook (:func:`deeptheory.course.build.source_notebook`).
      submissions: student → notebook; the files are only read.
      out: the output folder (see the module docstring); created if missing.
      jobs: worker processes grading in parallel; default :func:`default_jobs`.
      cell_timeout: seconds per cell before nbgrader interrupts it.
      wall_clock: seconds per submission before its worker and kernel are killed.
      feedback: also write ``feedback/<student>.html``.
      force: regrade submissions that already have an up-to-date result.
      progress: show a progress bar.
      on_result: called with each result as soon as it is known.
      engine: ``"secure"`` (student code in a sandboxed kernel, tests in the grader:
        :mod:`deeptheory.course.secure`) or ``"nbgrader"`` (nbgrader's autograde in the
        student's kernel, which student code can subvert; for comparison).
      hide: folders the students' kernels must not see, besides ``out`` and the
        submissions' folders (which are always hidden): the homework's solutions.
      memory: address space of a student's kernel, bytes (secure engine).

    Returns:
      student → :class:`GradeResult`, for every submission.
    """
    import deeptheory
    from deeptheory._validation import check_float, check_int
    from deeptheory.course.nbgrader_course import prepare_environment

    if engine not in ("secure", "nbgrader"):
        raise ValueError(f"engine must be 'secure' or 'nbgrader'; got {engine!r}")
    jobs = default_jobs() if jobs is None else check_int("jobs", jobs, minimum=1)
    check_int("cell_timeout", cell_timeout, minimum=1)
    check_float("wall_clock", wall_clock, minimum=1.0)
    out = Path(out)
    for folder in ("results", "feedback", "logs"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    cells = grade_cells(source)
    max_score = sum(cells.values())
    settings = json.dumps([deeptheory.__version__, cell_timeout, feedback, engine])
    homework = _sha256(json.dumps(source, sort_keys=True).encode() + settings.encode())

    results: dict[str, GradeResult] = {}
    fingerprints: dict[str, str] = {}
    todo = []
    for student, path in submissions.items():
        fingerprint = _sha256(homework.encode() + Path(path).read_bytes())
        fingerprints[student] = fingerprint
        saved = out / "results" / f"{student}.json"
        if not force and saved.exists():
            data = json.loads(saved.read_text(encoding="utf-8"))
            if data.get("fingerprint") == fingerprint:
                results[student] = GradeResult.from_json(data, reused=True)
                continue
        todo.append(student)
    lock = threading.Lock()

    def done(result: GradeResult) -> None:
        with lock:
            results[result.student] = result
            _write_csv(out / "grades.csv", results, cells)
            _write_review(out / "review.csv", results)
            if bar is not None:
                bar.update()
                bar.set_postfix_str(f"{result.student}: {result.score:g}/{max_score:g}")
        if on_result is not None:
            on_result(result)

    bar = None
    if not todo:
        _write_csv(out / "grades.csv", results, cells)
        _write_review(out / "review.csv", results)
        return results
    scratch = Path(tempfile.mkdtemp(prefix=f"deeptheory-grade-{name}-"))
    try:
        prepare_environment(scratch)
        env = dict(os.environ, DEEPTHEORY_GRADER_ENGINE=engine)
        workers = [_Worker(i, out / "logs", env) for i in range(min(jobs, len(todo)))]
        if engine == "nbgrader":
            _prepare_template(name, source, scratch / "template")
        import nbformat

        nbformat.write(source, scratch / "source.ipynb")
        hidden = {Path(h).resolve() for h in hide} | {out.resolve(), scratch.resolve()}
        hidden |= {Path(p).resolve().parent for p in submissions.values()}
        tasks: queue.Queue[str] = queue.Queue()
        stopping = threading.Event()
        for student in todo:
            tasks.put(student)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"grading {name}", unit="submission")

        def unguarded(
            student: str, reason: str, seconds: float, *, keep: bool = True
        ) -> GradeResult:
            """The row of a submission the worker did not grade. ``keep=False`` (the
            grader's own failure): shown now, not saved, so the next run retries it."""
            page = out / "feedback" / f"{student}.html"
            if feedback and keep:
                write_atomic(page, fallback_feedback(student, name, reason))
            data = {
                "student": student,
                "score": 0.0,
                "max_score": max_score,
                "cells": dict.fromkeys(cells, 0.0),
                "flags": [reason],
                "needs_manual_grade": True,
                "seconds": round(seconds, 2),
                "fingerprint": fingerprints[student],
                "feedback": str(page) if feedback else None,
            }
            if keep:
                write_atomic(
                    out / "results" / f"{student}.json",
                    json.dumps(data, indent=1) + "\n",
                )
            return GradeResult.from_json(data)

        def serve(index: int) -> None:
            worker = workers[index]
            while not stopping.is_set():
                try:
                    student = tasks.get_nowait()
                except queue.Empty:
                    break
                current[index] = student
                if worker.proc.poll() is not None:
                    worker = workers[index] = _Worker(index, out / "logs", env)
                task = {
                    "name": name,
                    "student": student,
                    "notebook": str(Path(submissions[student]).resolve()),
                    "template": str(scratch / "template"),
                    "work": str(scratch / "work" / student),
                    "cell_timeout": cell_timeout,
                    "make_feedback": feedback,
                    "feedback": str((out / "feedback" / f"{student}.html").resolve()),
                    "result": str((out / "results" / f"{student}.json").resolve()),
                    "log": str((out / "logs" / f"{student}.log").resolve()),
                    "fingerprint": fingerprints[student],
                    "engine": engine,
                    "source": str(scratch / "source.ipynb"),
                    "hide": sorted(str(h) for h in hidden),
                    "memory": memory,
                }
                problem = _precheck(Path(submissions[student]), engine)
                if problem:
                    done(unguarded(student, f"unreadable notebook ({problem})", 0.0))
                    continue
                start = time.perf_counter()
                try:
                    if not worker.ready:
                        if worker.receive(timeout=300) is None:
                            raise EOFError("the grading worker did not start")
                        worker.ready = True
                    worker.send(task)
                    reply = worker.receive(timeout=wall_clock)
                except (EOFError, BrokenPipeError, OSError) as error:
                    if stopping.is_set():  # interrupted: this one was not graded
                        return
                    worker.kill()
                    done(unguarded(student, f"grader crashed ({error})", 0, keep=False))
                    continue
                if reply is None:
                    worker.kill()
                    spent = time.perf_counter() - start
                    done(unguarded(student, f"wall clock ({wall_clock:g} s)", spent))
                elif not reply["ok"]:
                    reason = f"grader error: {reply['error']}"
                    done(unguarded(student, reason, 0.0, keep=False))
                else:
                    data = json.loads(Path(task["result"]).read_text(encoding="utf-8"))
                    done(GradeResult.from_json(data))
            worker.close()

        def slot(index: int) -> None:
            """``serve``, and if the grader itself fails unexpectedly, the submission in
            hand is flagged (never silently missing) and this slot carries on."""
            while not stopping.is_set():
                try:
                    serve(index)
                    return
                except Exception as error:  # a bug of ours: flag, restart the worker
                    student = current.get(index)
                    workers[index].kill()
                    workers[index] = _Worker(index, out / "logs", env)
                    if student is not None and student not in results:
                        reason = f"grader crashed ({type(error).__name__}: {error})"
                        done(unguarded(student, reason, 0.0, keep=False))

        current: dict[int, str] = {}  # slot → the submission it is grading
        threads = [
            threading.Thread(target=slot, args=(i,), daemon=True)
            for i in range(len(workers))
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.5)
        except KeyboardInterrupt:
            stopping.set()
            for worker in workers:
                worker.kill()
            raise
    finally:
        if bar is not None:
            bar.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def grade(
    name: str,
    submissions_dir: Path,
    *,
    root: Path,
    out: Path | None = None,
    **options: Any,
) -> tuple[dict[str, GradeResult], Path]:
    """Grade the folder ``submissions_dir`` for homework ``name`` of ``root/solutions``.

    Returns ``(results, out)``; options go to :func:`grade_submissions`.
    """
    from deeptheory.course.build import homeworks, source_notebook

    solutions = Path(root) / "solutions"
    known = homeworks(solutions)
    if name not in known:
        raise ValueError(
            f"homework must be one of {', '.join(known) or '(none found)'}; got {name!r}"
        )
    submissions = find_submissions(name, submissions_dir)
    out = Path(out) if out is not None else Path("grades") / name
    source = source_notebook(solutions / name / f"{name}.py")
    # the whole course repository: the solutions, but also its git history (which holds
    # them), the grades and the sample submissions; the package is put back read-only
    options.setdefault("hide", (Path(root).resolve(), solutions.resolve()))
    return grade_submissions(name, source, submissions, out, **options), out
