"""``deeptheory course check``: the gate every homework must pass (CI runs it).

For each homework: the solution scores full marks; the unmodified exercise scores
exactly 0 and does not crash; every mutant of ``solutions/<hw>/mutants.py`` —
``(solution grade_id, text, replacement)``, a typical mistake applied to the solution —
scores 0 in at least one hidden test cell; and the committed exercise equals a fresh
build. Scores are read from the grader's results, never from exit codes (``nbgrader
validate`` exits 0 on failure). The solution and the blank exercise go through the real
grader (:mod:`deeptheory.course.grade` with its default secure engine: student code in a
sandboxed kernel, tests in the grader, so a test that passes something which cannot cross
the boundary, such as a lambda, fails here); mutants, which only ask whether a hidden
test catches a mistake, run in-process in a pool of workers (:func:`grade_mutants`, a
fresh IPython namespace each) and without the cells after the last test
(:func:`without_trailing_cells`).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deeptheory.course.build import build_homework, homeworks, source_notebook


@dataclass(frozen=True)
class Score:
    """A graded submission: total, maximum, per-cell scores, and whether it crashed."""

    score: float
    max_score: float
    cells: dict[str, float]
    needs_manual_grade: bool


def _strip_markers(source: str) -> str:
    keep = [
        line
        for line in source.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    ]
    return "\n".join(keep)


def solution_answers(source: Any) -> dict[str, str]:
    """grade_id → the code of each solution cell, without the solution markers."""
    return {
        c.metadata["nbgrader"]["grade_id"]: _strip_markers(c.source)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def filled(release: Any, source: Any, replace: dict[str, str] | None = None) -> Any:
    """The release notebook with its solution cells filled (from the source, or replaced)."""
    answers = {**solution_answers(source), **(replace or {})}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def without_trailing_cells(notebook: Any) -> Any:
    """A copy of ``notebook`` without the cells after its last graded cell (experiments,
    questions, widgets): they run after every test, so they cannot change a score."""
    nb = copy.deepcopy(notebook)
    graded = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("grade")
    ]
    if graded:
        nb.cells = nb.cells[: graded[-1] + 1]
    return nb


def autograde(
    name: str, source: Any, submissions: dict[str, Any], *, jobs: int | None = None
) -> dict[str, Score]:
    """Grade ``submissions`` (student → notebook) against the source notebook.

    Uses the parallel grader of ``deeptheory course grade`` (no feedback pages).
    """
    import nbformat

    from deeptheory.course.grade import grade_submissions

    with tempfile.TemporaryDirectory(prefix="deeptheory-check-") as tmp:
        folder = Path(tmp) / "submitted"
        folder.mkdir()
        paths = {}
        for student, notebook in submissions.items():
            paths[student] = folder / f"{student}.ipynb"
            nbformat.write(notebook, paths[student])
        results = grade_submissions(
            name,
            source,
            paths,
            Path(tmp) / "out",
            jobs=jobs,
            cell_timeout=60,
            feedback=False,
            progress=False,
        )
    return {
        student: Score(r.score, r.max_score, r.cells, r.needs_manual_grade)
        for student, r in results.items()
    }


def _run_cells(cells: list[tuple[str | None, str]], timeout: int) -> dict[str, bool]:
    """In a worker process: run ``cells`` (grade_id or None, code) in a fresh IPython
    namespace; grade_id → whether that graded cell ran without an error."""
    import contextlib
    import io
    import signal

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.reset(new_session=False)

    def alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"cell ran longer than {timeout} s")

    signal.signal(signal.SIGALRM, alarm)
    passed = {}
    sink = io.StringIO()
    for grade_id, code in cells:
        signal.alarm(timeout)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                ok = shell.run_cell(code, silent=True).success
        finally:
            signal.alarm(0)
        sink.seek(0)
        sink.truncate()
        if grade_id is not None:
            passed[grade_id] = ok
    return passed


def mutant_cells(
    notebook: Any, answers: dict[str, str]
) -> list[tuple[str | None, str]]:
    """The code cells of a source notebook, solution cells replaced by ``answers``,
    hidden-test markers removed: (grade_id if graded else None, code)."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        code = (
            answers.get(grade_id, cell.source) if meta.get("solution") else cell.source
        )
        cells.append((grade_id if meta.get("grade") else None, code))
    return cells


def grade_mutants(
    notebook: Any,
    mutated: dict[str, dict[str, str]],
    *,
    jobs: int | None = None,
    timeout: int = 60,
) -> dict[str, dict[str, bool]]:
    """For each mutant (name → answers), which graded cells pass, run in-process by a
    pool of worker processes (one fresh IPython namespace per mutant). Faster than
    nbgrader's kernel per notebook, and what decides whether a hidden test catches a
    mistake is the same: the cell runs without an error."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    jobs = jobs or min(len(mutated), os.cpu_count() or 1) or 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            name: pool.submit(_run_cells, mutant_cells(notebook, answers), timeout)
            for name, answers in mutated.items()
        }
        return {name: future.result() for name, future in futures.items()}


def load_mutants(path: Path) -> dict[str, tuple[str, str, str]]:
    spec = importlib.util.spec_from_file_location("mutants", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return dict(module.MUTANTS)


def check_homework(
    name: str, root: Path, *, mutants: dict[str, tuple[str, str, str]] | None = None
) -> tuple[list[str], list[str]]:
    """Run the gate for one homework.

    Returns:
      ``(problems, report)``: the failures (empty when it passes) and one line per graded
      submission.
    """
    import nbformat

    solutions, exercises = root / "solutions", root / "exercises"
    problems = []
    committed = exercises / f"{name}.ipynb"
    try:
        source = source_notebook(solutions / name / f"{name}.py")
    except ValueError as error:  # bad metadata: nothing else can be checked
        return str(error).splitlines(), []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build_homework(name, solutions, Path(tmp))
        if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
            problems.append(
                f"{name}: exercises/{name}.ipynb is stale: run `deeptheory course build`"
            )
        release = nbformat.read(fresh, as_version=4)
    if mutants is None:
        mutants = load_mutants(solutions / name / "mutants.py")
    submissions = {"solution": filled(release, source), "blank": release}
    # Mutants run without the cells after the last test (experiments, widget): the
    # solution and the blank exercise run those, and they cannot change a score.
    short_source = without_trailing_cells(source)
    mutated_answers = {}
    answers = solution_answers(source)
    for index, (label, (grade_id, old, new)) in enumerate(mutants.items()):
        if old not in answers.get(grade_id, ""):
            problems.append(f"{name}: mutant {label!r}: {old!r} is not in {grade_id}")
            continue
        mutated = answers[grade_id].replace(old, new)
        mutated_answers[f"mutant{index}"] = {**answers, grade_id: mutated}
    scores = autograde(name, source, submissions)
    points = {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in short_source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    for key, passed in grade_mutants(short_source, mutated_answers).items():
        cells = {g: points[g] if passed.get(g) else 0.0 for g in points}
        scores[key] = Score(sum(cells.values()), sum(points.values()), cells, False)
    submissions.update(dict.fromkeys(mutated_answers))
    for missing in sorted(set(submissions) - set(scores)):
        problems.append(f"{name}: {missing} was not graded (see the grader's logs)")
    if "solution" not in scores or "blank" not in scores:
        return problems, []
    solution, blank = scores["solution"], scores["blank"]
    if solution.score != solution.max_score or solution.needs_manual_grade:
        problems.append(
            f"{name}: the solution scores {solution.score}/{solution.max_score}"
        )
    if blank.score != 0 or blank.needs_manual_grade:
        problems.append(
            f"{name}: the blank exercise scores {blank.score} (crashed: {blank.needs_manual_grade})"
        )
    hidden = {g for g in solution.cells if g.endswith("_hidden")}
    report = [
        f"{name}: solution {solution.score:g}/{solution.max_score:g}",
        f"{name}: blank exercise {blank.score:g}/{blank.max_score:g}",
    ]
    for index, label in enumerate(mutants):
        if f"mutant{index}" not in scores:
            continue
        got = scores[f"mutant{index}"]
        lost = sorted(g for g in hidden if got.cells.get(g, 0) == 0)
        report.append(
            f"{name}: mutant {label!r} {got.score:g}/{got.max_score:g}, "
            f"fails {', '.join(lost) or 'no hidden test'}"
        )
        if not lost:
            problems.append(
                f"{name}: mutant {label!r} loses no points in a hidden test"
            )
    return problems, report


def check(root: Path, *, only: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The gate for every homework in ``root/solutions`` (or those in ``only``):
    ``(problems, report)``."""
    known = homeworks(root / "solutions")
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        return [
            f"no such homework: {', '.join(unknown)} (known: {', '.join(known)})"
        ], []
    problems, report = [], []
    for name in only or known:
        found, lines = check_homework(name, root)
        problems += found
        report += lines
    return problems, report
