"""A grading worker: a long-lived process that autogrades one submission at a time.

``deeptheory course grade`` starts a few of these (``python -m deeptheory.course.worker``)
so that imports (torch, hypothesis, nbgrader: seconds) are paid once per worker, not once
per student. A task names its engine:

* ``"secure"`` (the default of ``course grade``): :func:`grade_secure`, the student's
  code in a sandboxed kernel and the tests here (:mod:`deeptheory.course.secure`); this
  process never executes student code.
* ``"nbgrader"``: :func:`grade`, nbgrader's autograde in the student's kernel (what
  nbgrader alone does; kept to compare with, and for courses that want nbgrader's
  gradebook). For the nbgrader engine the parent
writes one JSON task per line on the worker's stdin; the worker grades it in a fresh
nbgrader course directory of its own (a copy of a prepared template holding the source
notebook and the gradebook), writes the student's result and feedback into the output
folder atomically, and answers with one JSON line on stdout. The parent enforces the
per-submission wall clock by killing the worker's process group.

Flags read from the autograded notebook: an error output named ``ReferenceUsed`` or
``Tampering`` (raised by :func:`deeptheory.grading.check_against_reference`), a cell that
hit the per-cell timeout, and an autograde that failed outright (the kernel died or could
not be interrupted: nbgrader then voids the submission).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

#: error names in a graded cell's output → the flag shown in the grade table
ERROR_FLAGS = {
    "ReferenceUsed": "reference used",
    "Tampering": "tampering",
    "CellTimeoutError": "timeout",
}


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def notebook_flags(notebook: Any) -> list[str]:
    """Flags from the error outputs of an autograded notebook, in table order."""
    found = set()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            ename = output.get("ename", "")
            text = f"{ename} {output.get('evalue', '')}"
            if ename in ERROR_FLAGS:
                found.add(ERROR_FLAGS[ename])
            elif "timed out" in text or "CellTimeoutError" in text:
                found.add("timeout")
    order = ["timeout", "reference used", "tampering"]
    return [flag for flag in order if flag in found]


def failure_flag(log: str) -> str:
    """The flag of a submission that nbgrader could not grade, from its log."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return "kernel died"
    if "timed out" in log.lower() or "TimeoutError" in log:
        return "timeout (not interruptible)"
    return "not graded"


def scrub_hidden_tracebacks(notebook: Any) -> int:
    """Reduce the error output of every hidden-test cell to ``ename: evalue``, and drop
    tracebacks printed to its streams.

    Hidden cells switch IPython to Minimal tracebacks, so this is a second line of
    defence (a student's code can switch the mode back). Must run while the cells still
    hold their hidden tests. Returns the number of outputs changed.
    """
    changed = 0
    for cell in notebook.cells:
        if "BEGIN HIDDEN TESTS" not in cell.get("source", ""):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                short = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
                if output.get("traceback") != short:
                    output["traceback"] = short
                    changed += 1
            elif output.get("output_type") == "stream" and "Traceback" in "".join(
                output.get("text", "")
            ):  # IPython prints exception groups to stderr, whatever the mode
                output["text"] = "(traceback removed: it would show hidden tests)\n"
                changed += 1
    return changed


def fallback_feedback(student: str, name: str, reason: str) -> str:
    """The feedback page of a submission that could not be graded automatically."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(name)}: {html.escape(student)}</title></head><body>\n"
        f"<h1>{html.escape(name)} — {html.escape(student)}</h1>\n"
        f"<p>Your notebook could not be graded automatically: "
        f"<strong>{html.escape(reason)}</strong>.</p>\n"
        "<p>Run it top to bottom yourself (Kernel → Restart &amp; Run All): a cell that "
        "never finishes, or code that ends the Python process (<code>os._exit</code>, "
        "<code>exit()</code>, running out of memory), stops grading for the whole "
        "notebook. An instructor will look at it.</p>\n</body></html>\n"
    )


def grade(task: dict[str, Any], api_factory: Any) -> dict[str, Any]:
    """Grade one submission; returns the result written to ``task["result"]``."""
    import nbformat
    from nbgrader.api import Gradebook

    start = time.perf_counter()
    name, student = task["name"], task["student"]
    work = Path(task["work"])
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(task["template"], work)
    submitted = work / "submitted" / student / name
    submitted.mkdir(parents=True)
    shutil.copyfile(task["notebook"], submitted / f"{name}.ipynb")

    api = api_factory(work, task["cell_timeout"])
    outcome = api.autograde(name, student, force=True)
    log = outcome.get("log") or ""
    flags: list[str] = []
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gradebook:
        sub = gradebook.find_submission(name, student)
        nb = gradebook.find_submission_notebook(name, name, student)
        cells = {g.name: float(g.score) for g in nb.grades}
        total, max_score = float(sub.score), float(sub.max_score)
        needs_manual = bool(sub.needs_manual_grade)
    autograded = work / "autograded" / student / name / f"{name}.ipynb"
    if outcome["success"] and autograded.exists():
        score = total
        flags += notebook_flags(nbformat.read(autograded, as_version=4))
    else:  # nbgrader voided the submission; scores in the gradebook are stale or None
        score, cells = 0.0, dict.fromkeys(cells, 0.0)
        flags.append(failure_flag(log))
    feedback_path = Path(task["feedback"])
    if task["make_feedback"]:
        if autograded.exists() and outcome["success"]:
            notebook = nbformat.read(autograded, as_version=4)
            if scrub_hidden_tracebacks(notebook):
                os.chmod(autograded, 0o644)
                nbformat.write(notebook, autograded)
            made = api.generate_feedback(name, student, force=True)
            page = work / "feedback" / student / name / f"{name}.html"
            if not made["success"] or not page.exists():
                raise RuntimeError(f"generate_feedback failed:\n{made['log']}")
            write_atomic(feedback_path, page.read_text(encoding="utf-8"))
        else:
            write_atomic(feedback_path, fallback_feedback(student, name, flags[-1]))
    result = {
        "student": student,
        "score": score,
        "max_score": max_score,
        "cells": cells,
        "flags": flags,
        "needs_manual_grade": needs_manual or not outcome["success"],
        "seconds": round(time.perf_counter() - start, 2),
        "fingerprint": task["fingerprint"],
        "feedback": str(feedback_path) if task["make_feedback"] else None,
    }
    write_atomic(Path(task["log"]), log)
    write_atomic(Path(task["result"]), json.dumps(result, indent=1) + "\n")
    if not task.get("keep_work"):
        shutil.rmtree(work, ignore_errors=True)
    return result


def grade_secure(task: dict[str, Any], homeworks: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission with the secure engine; returns the result written to
    ``task["result"]``. ``homeworks`` caches prepared homeworks by source path."""
    from deeptheory.course.sandbox import isolation
    from deeptheory.course.secure import (
        Homework,
        Unreadable,
        feedback_html,
        feedback_notebook,
        grade_notebook,
        needs_review,
    )

    start = time.perf_counter()
    name, student = task["name"], task["student"]
    if task["source"] not in homeworks:
        import nbformat

        source = nbformat.read(task["source"], as_version=4)
        homeworks[task["source"]] = Homework.from_source(name, source)
    homework = homeworks[task["source"]]
    work = Path(task["work"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.chmod(work, 0o711)  # the kernel's user may cross it to its own folder
    cells = dict.fromkeys(homework.points, 0.0)
    try:
        graded = grade_notebook(
            homework,
            Path(task["notebook"]),
            work / "kernel",
            cell_timeout=task["cell_timeout"],
            hide=tuple(Path(h) for h in task["hide"]),
            memory=task.get("memory"),
            slot=int(os.environ.get("DEEPTHEORY_GRADER_SLOT", "0")),
        )
        flags, cells = list(graded.flags), graded.cells
        log = _instructor_log(graded)
        page = (
            feedback_html(feedback_notebook(homework, graded, student))
            if task["make_feedback"]
            else None
        )
    except Unreadable as error:
        flags = [str(error)]
        log = f"not graded: {error}\n"
        page = fallback_feedback(student, name, str(error))
    feedback_path = Path(task["feedback"])
    if task["make_feedback"] and page is not None:
        write_atomic(feedback_path, page)
    result = {
        "student": student,
        "score": sum(cells.values()),
        "max_score": sum(homework.points.values()),
        "cells": cells,
        "flags": flags,
        "needs_manual_grade": needs_review(flags),
        # never 0: a run counts the submissions it graded by their seconds
        "seconds": max(round(time.perf_counter() - start, 2), 0.01),
        "fingerprint": task["fingerprint"],
        "feedback": str(feedback_path) if task["make_feedback"] else None,
        "engine": "secure",
        "isolation": isolation(),
    }
    write_atomic(Path(task["log"]), f"flags: {'; '.join(flags) or '-'}\n{log}")
    write_atomic(Path(task["result"]), json.dumps(result, indent=1) + "\n")
    if not task.get("keep_work"):
        shutil.rmtree(work, ignore_errors=True)
    return result


def _instructor_log(graded: Any) -> str:
    """For the instructor (never shown to the student): every cell that raised, with
    its message, hidden tests' included."""
    lines = []
    for index, step in enumerate(graded.steps):
        for output in graded.outputs.get(index, []):
            if output.get("output_type") == "error":
                where = step.grade_id or "a cell the student added"
                lines.append(
                    f"[{step.where}] {where}: {output.get('ename')}: "
                    f"{str(output.get('evalue'))[:2000]}"
                )
    return "\n".join(lines) + "\n"


def _api_factory():
    """NbGraderAPI for a course directory, nbgrader imported once per worker."""
    from nbgrader.apps import NbGraderAPI

    from deeptheory.course.nbgrader_course import nbgrader_config

    def make(root: Path, cell_timeout: int):
        config = nbgrader_config(root, timeout=cell_timeout)
        config.GenerateFeedback.preprocessors = [
            "nbgrader.preprocessors.GetGrades",
            "nbgrader.preprocessors.ClearHiddenTests",
            "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
        ]
        return NbGraderAPI(config=config)

    return make


def main() -> int:
    """Serve tasks from stdin until it closes; one JSON line per task on stdout."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    # Nothing but the protocol may reach the parent's pipe: replies go to a private copy
    # of fd 1 (not inherited), and fd 1 itself now points at stderr (the worker's log),
    # so kernels, which inherit fd 1, cannot write into the reply channel (native
    # libraries such as oneMKL print there directly, and so can student code).
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    engine = os.environ.get("DEEPTHEORY_GRADER_ENGINE", "secure")
    factory = _api_factory() if engine == "nbgrader" else None
    if engine == "secure":  # what every task needs, imported before the first one
        import deeptheory.course.secure
        import deeptheory.grading
        import deeptheory.testing.strategies  # noqa: F401
    homeworks: dict[str, Any] = {}
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        task = json.loads(line)
        try:
            if task.get("engine", "nbgrader") == "secure":
                grade_secure(task, homeworks)
            else:
                factory = factory or _api_factory()
                grade(task, factory)
            reply = {"student": task["student"], "ok": True}
        except Exception as error:  # reported to the parent; the worker carries on
            reply = {"student": task["student"], "ok": False, "error": repr(error)}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
