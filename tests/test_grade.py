"""`deeptheory course grade`: the sample class of Homework 1 gets exactly the grades its
spec expects, feedback never shows hidden tests, the input is only read, reruns resume,
and a submission past the wall clock is killed without harming the next one."""

import csv
import hashlib
import html
import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from deeptheory.course.build import load_students, source_notebook, student_notebook
from deeptheory.course.grade import (
    GradeResult,
    find_submissions,
    format_table,
    grade_submissions,
)
from deeptheory.course.secure import hidden_test_lines, needs_review
from deeptheory.course.worker import (
    failure_flag,
    notebook_flags,
    scrub_hidden_tracebacks,
)

ROOT = Path(__file__).resolve().parent.parent
NAME = "hw1_ntk"
SAMPLE = ROOT / "course" / "sample_submissions" / NAME
SPEC = ROOT / "course" / "sample_class" / f"{NAME}.py"


def grade_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "deeptheory", "course", "grade", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )


def digest(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
    }


def page_text(path):
    text = Path(path).read_text(encoding="utf-8")
    text = re.sub(r"<(style|script)\b.*?</\1>", "", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def hidden_lines():
    return hidden_test_lines(source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    before = digest(SAMPLE)
    start = time.perf_counter()
    result = grade_cli(
        NAME, str(SAMPLE), "--out", str(out), "--cell-timeout", "10", "--no-progress",
        "--expect", str(SPEC),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    assert digest(SAMPLE) == before, "grading changed the submissions folder"
    return result, out, seconds


def test_every_sample_student_gets_the_expected_score_and_flags(graded):
    result, out, _ = graded
    assert result.returncode == 0, result.stdout + result.stderr
    students = load_students(SPEC)
    assert len(students) >= 8
    for student, entry in students.items():
        got = json.loads((out / "results" / f"{student}.json").read_text())
        assert (got["score"], tuple(got["flags"])) == (
            entry["score"],
            entry["flags"],
        ), (
            student,
            got,
        )
        assert got["max_score"] == 14
        assert got["needs_manual_grade"] == needs_review(entry["flags"])
        assert got["engine"] == "secure" and "resource limits" in got["isolation"]
    assert "every score and flag is as expected" in result.stdout
    for student in students:  # the printed table has one row per student
        assert re.search(rf"^{student}\s+\d+\s+14\s", result.stdout, re.M), student


def test_the_grades_csv_matches_the_results(graded):
    _, out, _ = graded
    lines = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    header = lines[0]
    assert header[:5] == [
        "student",
        "score",
        "max_score",
        "flags",
        "needs_manual_grade",
    ]
    assert "ntk_relative_errors_hidden" in header
    rows = {line[0]: line for line in lines[1:]}
    assert set(rows) == set(load_students(SPEC))
    for student, row in rows.items():
        cells = [float(v) for v in row[5:]]
        assert float(row[1]) == sum(cells), student


def test_feedback_exists_for_everyone_and_never_shows_hidden_tests(graded):
    _, out, _ = graded
    secret = hidden_lines()
    assert len(secret) > 20
    for student in load_students(SPEC):
        text = page_text(out / "feedback" / f"{student}.html")
        assert student in text or "Score" in text
        leaked = [line for line in secret if line in text]
        assert not leaked, (student, leaked[:3])
        assert (
            "BEGIN HIDDEN TESTS" not in text and "check_against_reference" not in text
        )
    # what the feedback does say: the failing layer and the smallest case
    carol = page_text(out / "feedback" / "carol.html")
    assert (
        "one_hidden_layer_ntk: values differ" in carol
        and "on the input FCNet(" in carol
    )
    grace = page_text(out / "feedback" / "grace.html")
    assert "calls the reference implementation (deeptheory.ntk.empirical_ntk)" in grace
    heidi = page_text(out / "feedback" / "heidi.html")
    assert "patches torch.testing.assert_close" in heidi
    ivan = page_text(out / "feedback" / "ivan.html")
    assert "kernel died" in ivan and "Score: 3 / 14" in ivan


def test_the_review_list_names_every_flagged_student_with_its_reasons(graded):
    _, out, _ = graded
    text = (out / "review.csv").read_text()
    assert text.splitlines()[0] == "student,score,max_score,reasons"
    rows = text.splitlines()
    flagged = {s for s, e in load_students(SPEC).items() if needs_review(e["flags"])}
    assert {r.split(",")[0] for r in rows[1:]} == flagged
    assert any(r.startswith("ivan,3,14,") and "kernel died" in r for r in rows)


def test_serial_grading_gives_the_parallel_results(graded, tmp_path):
    """The class was graded by two workers; one worker, in another order (reversed),
    gives the same scores, cells and flags."""
    _, out, _ = graded
    source = source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py")
    picked = ["ivan", "heidi", "grace", "carol"]  # a death, patching, the reference
    results = grade_submissions(
        NAME,
        source,
        {s: SAMPLE / f"{s}.ipynb" for s in picked},
        tmp_path / "serial",
        jobs=1,
        cell_timeout=10,
        progress=False,
        feedback=False,
        hide=(ROOT,),
    )
    for student in picked:
        parallel = json.loads((out / "results" / f"{student}.json").read_text())
        serial = results[student]
        assert (serial.score, serial.cells, list(serial.flags)) == (
            parallel["score"],
            parallel["cells"],
            parallel["flags"],
        ), student


def test_a_rerun_resumes_and_regrades_only_what_is_missing(graded):
    _, out, _ = graded
    (out / "results" / "bob.json").unlink()
    result = grade_cli(
        NAME, str(SAMPLE), "--out", str(out), "--cell-timeout", "10", "--no-progress"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(1 graded, 8 unchanged since the last run)" in result.stdout
    assert json.loads((out / "results" / "bob.json").read_text())["score"] == 6


def kernels_running():
    return sum(
        b"ipykernel" in (p / "cmdline").read_bytes()
        for p in Path("/proc").glob("[0-9]*")
        if (p / "cmdline").exists()
    )


def test_the_wall_clock_kills_one_submission_and_the_next_is_graded(tmp_path):
    """Also: a file that is not a notebook gets its own flag, not a crash, and output a
    kernel writes to its inherited stdout does not disturb the grader."""
    release = nbformat.read(ROOT / "exercises" / f"{NAME}.ipynb", as_version=4)
    source = source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py")
    alice = load_students(SPEC)["alice"]
    hang = "import time\n\ntime.sleep(600)"
    sleeper = student_notebook(release, {}, {"one_hidden_layer_ntk": hang})
    folder = tmp_path / "in"
    folder.mkdir()
    nbformat.write(sleeper, folder / "a_sleeper.ipynb")
    nbformat.write(student_notebook(release, alice["answers"], {}), folder / "b.ipynb")
    (folder / "c_broken.ipynb").write_text('{"cells": [')  # a truncated upload
    # native code (oneMKL's error messages) and students can write to the kernel's
    # inherited fd 1: it must not reach the worker's reply channel
    noisy = "import os\n\nos.write(1, b'not a reply\\n{\\n')"
    nbformat.write(
        student_notebook(release, alice["answers"], {"one_hidden_layer_ntk": noisy}),
        folder / "d_noisy.ipynb",
    )
    before = kernels_running()
    results = grade_submissions(
        NAME,
        source,
        find_submissions(NAME, folder),
        tmp_path / "out",
        jobs=1,
        cell_timeout=300,
        wall_clock=20,
        progress=False,
    )
    slow, fine = results["a_sleeper"], results["b"]
    assert slow.flags == ("wall clock (20 s)",) and slow.needs_manual_grade
    assert slow.score == 0 and 20 <= slow.seconds < 60
    assert "could not be graded" in page_text(slow.feedback)
    assert fine.score == fine.max_score == 14 and not fine.flags
    noisy_result = results["d_noisy"]
    assert noisy_result.score == 14, noisy_result
    assert noisy_result.flags == ("suspicious code (import os)",)
    broken = results["c_broken"]
    assert len(broken.flags) == 1 and broken.score == 0
    assert broken.flags[0].startswith("unreadable notebook (not JSON")
    time.sleep(2)
    assert kernels_running() <= before, "the killed submission's kernel survived"


def test_find_submissions_layouts_and_errors(tmp_path):
    (tmp_path / "ann.ipynb").write_text("{}")
    (tmp_path / "ben").mkdir()
    (tmp_path / "ben" / f"{NAME}.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "cy" / NAME).mkdir(parents=True)  # nbgrader's submitted/ layout
    (tmp_path / "cy" / NAME / f"{NAME}.ipynb").write_text("{}")
    found = find_submissions(NAME, tmp_path)
    assert sorted(found) == ["ann", "ben", "cy"]
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / f"{NAME}.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="'ann' has two submissions"):
        find_submissions(NAME, tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a b.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="student name 'a b'"):
        find_submissions(NAME, bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no submission"):
        find_submissions(NAME, tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_submissions(NAME, tmp_path / "missing")


def error(ename, evalue="", traceback=("line",)):
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=list(traceback)
    )


def test_flags_are_read_from_error_outputs():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x") for _ in range(4)]
    nb.cells[0].outputs = [error("ReferenceUsed")]
    nb.cells[1].outputs = [error("KeyboardInterrupt"), error("CellTimeoutError")]
    nb.cells[2].outputs = [error("GradingFailure", "values differ")]
    assert notebook_flags(nb) == ["timeout", "reference used"]
    nb.cells[3].outputs = [error("Tampering")]
    assert notebook_flags(nb) == ["timeout", "reference used", "tampering"]
    assert failure_flag("... DeadKernelError: Kernel died") == "kernel died"
    assert failure_flag("something else") == "not graded"


def test_tracebacks_of_hidden_cells_are_cut_to_the_message():
    nb = nbformat.v4.new_notebook()
    hidden = "### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS"
    nb.cells = [nbformat.v4.new_code_cell(hidden), nbformat.v4.new_code_cell("mine()")]
    for cell in nb.cells:
        cell.outputs = [
            error("ValueError", "bad", ["  secret()", "ValueError: bad"]),
            nbformat.v4.new_output(
                "stream", name="stderr", text="Traceback\n secret()"
            ),
        ]
    assert scrub_hidden_tracebacks(nb) == 2
    assert "secret" not in nb.cells[0].outputs[1].text
    assert nb.cells[0].outputs[0].traceback == ["ValueError: bad"]
    assert nb.cells[1].outputs[0].traceback == ["  secret()", "ValueError: bad"]


def test_the_table_marks_unexpected_rows():
    def result(student, score, flags=()):
        return GradeResult(student, score, 14, {}, tuple(flags), False, 1.0, None)

    results = {"ann": result("ann", 14), "ben": result("ben", 3, ["timeout"])}
    table = format_table(results, expected={"ann": (14, ()), "ben": (5, ("timeout",))})
    ann, ben = table.splitlines()[1:]
    assert "!" not in ann and ben.split()[-3:] == ["!", "5", "timeout"]


def test_an_interrupted_run_keeps_what_it_graded_and_the_rerun_finishes(tmp_path):
    import signal

    folder = tmp_path / "in"
    folder.mkdir()
    for student in ("alice", "bob", "erin"):
        shutil.copyfile(SAMPLE / f"{student}.ipynb", folder / f"{student}.ipynb")
    out = tmp_path / "out"
    args = [NAME, str(folder), "--out", str(out), "--jobs", "1", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "deeptheory", "course", "grade", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not list((out / "results").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "run the same command again" in stderr
    saved = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert 1 <= len(saved) < 3, saved
    for path in (out / "results").glob("*.json"):
        json.loads(path.read_text())  # complete, not half-written
    result = grade_cli(*args)
    assert result.returncode == 0, result.stderr
    assert f"({3 - len(saved)} graded, {len(saved)} unchanged" in result.stdout
    scores = {
        p.stem: json.loads(p.read_text())["score"] for p in (out / "results").glob("*")
    }
    assert scores == {"alice": 14, "bob": 6, "erin": 11}


def test_an_unexpected_grader_error_flags_that_submission_and_goes_on(
    tmp_path, monkeypatch
):
    """A bug of the grader's own (here injected) must not lose a submission silently."""
    import deeptheory.course.grade as grading

    release = nbformat.read(ROOT / "exercises" / f"{NAME}.ipynb", as_version=4)
    source = source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py")
    folder = tmp_path / "in"
    folder.mkdir()
    for student in ("a_unlucky", "b_blank"):
        nbformat.write(release, folder / f"{student}.ipynb")
    real = grading._precheck

    def flaky(path, engine):
        if path.stem == "a_unlucky":
            raise RuntimeError("injected")
        return real(path, engine)

    monkeypatch.setattr(grading, "_precheck", flaky)
    results = grade_submissions(
        NAME,
        source,
        find_submissions(NAME, folder),
        tmp_path / "out",
        jobs=1,
        feedback=False,
        progress=False,
    )
    assert results["a_unlucky"].flags == ("grader crashed (RuntimeError: injected)",)
    assert results["a_unlucky"].needs_manual_grade
    assert results["b_blank"].score == 0 and not results["b_blank"].flags


def test_the_nbgrader_engine_still_grades_for_comparison(tmp_path):
    """``--engine nbgrader`` (nbgrader's autograde in the student's kernel) is kept for
    the benchmark and for courses that use nbgrader's gradebook: a right answer gets
    full marks, and a kernel death voids the submission as nbgrader does."""
    source = source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py")
    picked = {s: SAMPLE / f"{s}.ipynb" for s in ("alice", "ivan")}
    results = grade_submissions(
        NAME,
        source,
        picked,
        tmp_path / "out",
        jobs=2,
        progress=False,
        engine="nbgrader",
    )
    assert results["alice"].score == 14 and not results["alice"].flags
    assert results["ivan"].score == 0 and results["ivan"].flags == ("kernel died",)
    with pytest.raises(ValueError, match="engine must be"):
        grade_submissions(NAME, source, picked, tmp_path / "x", engine="docker")
