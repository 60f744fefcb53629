"""Hostile and broken Homework 1 submissions get the grade and the flags they deserve, and
cannot reach the grader, the hidden tests, other students or the machine.

The class (``threats.py``: one submission per threat, a correct control and a blank one)
is graded once by the CLI (``conftest.py``: 2 jobs, 12 s per cell, 300 s per submission,
under hard caps of 8 GiB address space per process and a 20 minute timeout, so that a
failing grader limit cannot hurt the machine). Each case's expected score, graded cells
and flags are in ``EXPECTED``; properties of the whole run follow.

Flags are compared by kind (the prefix before a detail in parentheses). A result needs a
manual grade iff it has a flag that is not informational.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from threats import (
    CANARY_OUT,
    CANARY_SUBMISSIONS,
    CASES,
    CONTROL_SECRET,
    EXERCISES,
    NAME,
    ROOT,
    SLEEP_DAEMON,
    SLEEP_POPEN,
)

from deeptheory.course.build import source_notebook
from deeptheory.course.secure import hidden_test_lines

CELLS = {cell: points for cells in EXERCISES.values() for cell, points in cells.items()}
FULL = sum(CELLS.values())

#: every flag kind of the grader, longest first (a detail may follow in parentheses)
KINDS = [
    "timeout (not interruptible)",
    "edited locked cells (restored)",
    "processes left running (killed)",
    "unreadable notebook",
    "suspicious code",
    "copied reference",
    "reference in code",
    "output truncated",
    "memory limit",
    "reference used",
    "missing cells",
    "wrong homework",
    "kernel died",
    "timeout",
]
INFORMATIONAL = {
    "output truncated",
    "edited locked cells (restored)",
    "processes left running (killed)",
}


def kind(flag: str) -> str:
    for known in KINDS:
        if flag == known or flag.startswith(known + " ("):
            return known
    return flag  # unknown: compared as it is, so that it shows in the failure


@dataclass(frozen=True)
class Expect:
    """``lost``: exercises (or single graded cells) scoring 0, the rest full;
    ``unsure``: exercises whose cells are not asserted (score then not asserted);
    ``flags``: kinds that must be there; ``allowed``: kinds that may also be there."""

    lost: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    unsure: tuple[str, ...] = ()


ALL = tuple(EXERCISES)
EXPECTED = {
    "a_control": Expect(),
    "b_blank": Expect(lost=ALL),
    "c01_wrong_answer": Expect(lost=("one_hidden_layer_ntk_hidden",)),
    "c02_raises": Expect(lost=("relu_ntk",)),
    "c03_syntax_error": Expect(lost=("autograd_ntk",)),
    "c04_infinite_loop": Expect(lost=("relu_ntk",), flags=("timeout",)),
    "c05a_ignores_interrupt": Expect(
        lost=("relu_ntk",), flags=("timeout (not interruptible)",)
    ),
    "c05b_sigint_ignored": Expect(
        lost=("relu_ntk",),
        flags=("timeout (not interruptible)",),
        allowed=("suspicious code",),  # signal.signal
    ),
    # the cell that killed the kernel never finished: relu_ntk is not defined
    "c06a_exit_top_level": Expect(
        lost=("relu_ntk",), flags=("kernel died",), allowed=("suspicious code",)
    ),  # import os
    "c06b_kill_in_function": Expect(
        lost=("relu_ntk",), flags=("kernel died",), allowed=("suspicious code",)
    ),
    # MemoryError/RuntimeError in the kernel, or the kernel dies: never a pass
    "c07_memory_hog": Expect(
        lost=("relu_ntk",), flags=("memory limit",), allowed=("kernel died", "timeout")
    ),
    "c08_output_flood": Expect(flags=("output truncated",)),
    "c09_background_processes": Expect(
        flags=("processes left running (killed)",),
        allowed=("suspicious code",),  # subprocess, os.fork
    ),
    "c10a_patched_helpers": Expect(lost=ALL, allowed=("suspicious code",)),
    # isinstance patched may break the kernel's own machinery
    "c10b_patched_builtins": Expect(
        lost=ALL,
        allowed=(
            "suspicious code",
            "timeout",
            "timeout (not interruptible)",
            "kernel died",
        ),
    ),
    # the tripwire sees the call (the cell scores 0) and the static check the name
    "c11a_imports_reference": Expect(
        lost=("one_hidden_layer_ntk_hidden",),
        flags=("reference in code", "reference used"),
    ),
    "c11b_copied_reference": Expect(
        flags=("copied reference",), unsure=("one_hidden_layer_ntk", "width_exponent")
    ),
    # it does use the reference (its source): may be flagged so, and lose that test
    "c11c_exec_reference_source": Expect(
        flags=("suspicious code", "reference in code"),
        allowed=("reference used",),
        unsure=("width_exponent",),
    ),
    "c12_reads_secrets": Expect(flags=("suspicious code",)),
    "c13_writes_files": Expect(lost=("width_exponent",), allowed=("suspicious code",)),
    "c14a_edited_locked_cells": Expect(flags=("edited locked cells (restored)",)),
    "c14b_disabled_visible_test": Expect(
        lost=("autograd_ntk",), flags=("edited locked cells (restored)",)
    ),
    "c15a_invalid_json": Expect(lost=ALL, flags=("unreadable notebook",)),
    "c15b_nbformat3": Expect(lost=ALL, flags=("unreadable notebook",)),
    "c15c_no_cells_key": Expect(lost=ALL, flags=("unreadable notebook",)),
    "c15d_solution_cells_deleted": Expect(lost=ALL, flags=("missing cells",)),
    # c15e_huge_output: either outcome is acceptable, see its own test
    "c15f_one_solution_cell_deleted": Expect(
        lost=("relu_ntk",), flags=("missing cells",)
    ),
    "c16a_wrong_homework_filled": Expect(lost=ALL, flags=("wrong homework",)),
    "c16b_wrong_homework_blank": Expect(lost=ALL, flags=("wrong homework",)),
}


def expected_cells(lost) -> dict[str, float]:
    zero = {cell for item in lost for cell in EXERCISES.get(item, {item: 0})}
    return {cell: 0.0 if cell in zero else float(p) for cell, p in CELLS.items()}


def result(graded, student) -> dict:
    """The student's results/<student>.json, checked to be a whole result."""
    run = graded.run
    rows = [ln for ln in run.stdout.splitlines() if ln.startswith(student + " ")]
    assert student in run.results, (
        f"no result for {student}: {rows or run.stderr[-2000:]}"
    )
    got = run.results[student]
    keys = {"student", "score", "max_score", "cells", "flags", "needs_manual_grade"}
    assert keys <= set(got), f"not a whole result for {student}: {got}"
    return got


def summary(got: dict) -> str:
    return f"score {got['score']}, flags {got['flags']}, cells {got['cells']}"


def page_text(path) -> str:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"<(style|script)\b.*?</\1>", "", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def hidden_lines() -> set[str]:
    """Every substantial line of the hidden tests."""
    return hidden_test_lines(source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py"))


def feedback_text(graded, student) -> str:
    page = graded.run.out / "feedback" / f"{student}.html"
    assert page.exists(), f"no feedback page for {student}"
    return page_text(page)


# --- the run -------------------------------------------------------------------------


def test_the_run_completes(graded):
    run = graded.run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert set(CASES) == set(EXPECTED) | {"c15e_huge_output"}


def test_one_result_and_one_row_per_student(graded):
    run = graded.run
    assert set(run.results) == set(CASES)
    rows = run.csv_rows("grades.csv")
    students = [row["student"] for row in rows]
    assert sorted(students) == sorted(CASES), students
    for row in rows:
        got = run.results[row["student"]]
        assert float(row["score"]) == got["score"], row
        for cell, points in got["cells"].items():
            assert float(row[cell]) == points, (row["student"], cell)


def test_scores_are_the_sum_of_the_cells_and_never_above_the_maximum(graded):
    for student in CASES:
        got = result(graded, student)
        assert set(got["cells"]) == set(CELLS), student
        assert got["max_score"] == FULL, student
        assert got["score"] == sum(got["cells"].values()), student
        for cell, points in got["cells"].items():
            assert 0 <= points <= CELLS[cell], (student, cell, points)


def test_a_manual_grade_is_asked_iff_a_flag_is_not_informational(graded):
    for student in CASES:
        got = result(graded, student)
        serious = [f for f in got["flags"] if kind(f) not in INFORMATIONAL]
        assert got["needs_manual_grade"] == bool(serious), (student, got["flags"])


def test_review_csv_lists_exactly_the_students_needing_a_manual_grade(graded):
    rows = graded.run.csv_rows("review.csv")
    listed = [row["student"] for row in rows]
    wanted = sorted(s for s, r in graded.run.results.items() if r["needs_manual_grade"])
    assert sorted(listed) == wanted
    for row in rows:
        assert row["reasons"].strip(), row


def test_the_submissions_folder_is_unchanged(graded):
    assert graded.after == graded.before


def test_the_release_and_the_hidden_tests_are_unchanged(graded):
    """c13 appends to exercises/hw1_ntk.ipynb and solutions/hw1_ntk/hw1_ntk.py (the
    fixture restores them if it could, and reports it here)."""
    assert graded.changed_repo_files == []


def test_no_process_of_the_run_outlives_it(graded, control_alone):
    """c09's sleeps (one a setsid daemon) and any kernel or worker of the run."""
    assert graded.run.survivors == {}
    assert control_alone.survivors == {}


def test_the_control_gets_the_same_alone_as_in_the_hostile_class(graded, control_alone):
    assert control_alone.returncode == 0, control_alone.stderr[-3000:]
    alone = control_alone.results["a_control"]
    in_class = result(graded, "a_control")
    for key in ("score", "cells", "flags", "needs_manual_grade"):
        assert in_class[key] == alone[key], (key, in_class[key], alone[key])
    assert alone["score"] == FULL and alone["flags"] == []


def test_no_feedback_shows_hidden_tests_or_another_students_data(graded):
    """No hidden-test line (but those the student wrote too, e.g. an import), canary or
    line of the control's notebook, in anyone's feedback."""
    secret = hidden_lines()
    assert len(secret) > 20
    private = [CONTROL_SECRET, CANARY_OUT, CANARY_SUBMISSIONS]
    for student in CASES:
        text = feedback_text(graded, student)
        own = graded.sources[student]
        leaked = [line for line in secret if line in text and line not in own]
        assert not leaked, (student, leaked[:3])
        assert "BEGIN HIDDEN TESTS" not in text, student
        if student != "a_control":
            assert not [p for p in private if p in text], student


# --- each case -----------------------------------------------------------------------


@pytest.mark.parametrize("student", list(EXPECTED))
def test_case_outcome(graded, student):
    expect = EXPECTED[student]
    got = result(graded, student)
    unsure = {c for item in expect.unsure for c in EXERCISES[item]}
    cells = {c: p for c, p in got["cells"].items() if c not in unsure}
    wanted = {c: p for c, p in expected_cells(expect.lost).items() if c not in unsure}
    assert cells == wanted, summary(got)
    if not unsure:
        assert got["score"] == sum(wanted.values()), summary(got)
    kinds = {kind(flag) for flag in got["flags"]}
    missing = set(expect.flags) - kinds
    extra = kinds - set(expect.flags) - set(expect.allowed)
    assert not missing and not extra, (
        f"missing {sorted(missing)}, unexpected {sorted(extra)}: {summary(got)}"
    )


def test_c09_background_processes_are_killed(graded):
    """Both sleeps were seen and killed by the grader, not left for the fixture."""
    sleeps = {
        pid: line
        for pid, line in graded.run.survivors.items()
        if SLEEP_POPEN in line or SLEEP_DAEMON in line
    }
    assert sleeps == {}


def test_c11b_the_copied_functions_are_named(graded):
    flags = result(graded, "c11b_copied_reference")["flags"]
    copied = " ".join(f for f in flags if kind(f) == "copied reference")
    assert "one_hidden_layer_ntk" in copied and "width_exponent" in copied, flags


def test_c11c_the_flag_names_what_is_suspicious(graded):
    flags = result(graded, "c11c_exec_reference_source")["flags"]
    detail = " ".join(f for f in flags if kind(f) == "suspicious code")
    assert "exec" in detail or "inspect" in detail, flags


def test_c12_reads_nothing_it_should_not(graded):
    """Its snooping ran (its output is in its feedback) and found nothing: no hidden
    test, canary, other student's notebook or result, folder listing."""
    text = feedback_text(graded, "c12_reads_secrets")
    # its source prints "=== read {_path}: ...": a path after it is its output
    assert re.search("=== read /", text), "the snooping cell's output is not shown"
    got = json.dumps(result(graded, "c12_reads_secrets"))
    for needle in [
        CONTROL_SECRET,
        CANARY_OUT,
        CANARY_SUBMISSIONS,
        '"student": "a_control"',  # another student's result
        "c01_wrong_answer",  # a listing of the submissions or results folder
        "### BEGIN HIDDEN TESTS",
        "check_against_reference(",
    ]:
        assert needle not in text and needle not in got, needle


def test_c13_wrote_nothing_the_grader_uses(graded):
    """Its marker is in no grade file, result or other student's feedback (the release,
    the hidden tests and the submissions: tested above; the control: compared with its
    grade alone)."""
    out = graded.run.out
    files = [out / "grades.csv", out / "review.csv", *out.glob("results/*.json")]
    files += [p for p in out.glob("feedback/*.html") if p.stem != "c13_writes_files"]
    for path in files:
        assert "c13 was here" not in path.read_text(encoding="utf-8", errors="replace")


def test_c15d_names_every_missing_cell(graded):
    flags = result(graded, "c15d_solution_cells_deleted")["flags"]
    detail = " ".join(f for f in flags if kind(f) == "missing cells")
    assert all(name in detail for name in EXERCISES), flags


def test_c15f_names_the_missing_cell(graded):
    flags = result(graded, "c15f_one_solution_cell_deleted")["flags"]
    detail = " ".join(f for f in flags if kind(f) == "missing cells")
    assert "relu_ntk" in detail and "autograd_ntk" not in detail, flags


def test_c15e_a_huge_saved_output_is_refused_or_ignored(graded):
    """100 MB of saved output: either unreadable (too large, score 0, manual review) or
    graded normally with the outputs ignored (full marks, no flag)."""
    got = result(graded, "c15e_huge_output")
    kinds = [kind(f) for f in got["flags"]]
    refused = kinds == ["unreadable notebook"] and got["score"] == 0
    ignored = kinds == [] and got["score"] == FULL
    assert refused or ignored, summary(got)
    print(f"c15e_huge_output: {'refused' if refused else 'ignored'}: {got['flags']}")
