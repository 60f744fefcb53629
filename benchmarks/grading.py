"""Benchmark of ``deeptheory course grade``: seconds per graded submission on this machine.

What is measured
----------------
Wall-clock seconds to autograde a class of Homework 1 notebooks *and* write the feedback
pages, from a cold start (a new process, nothing graded yet), for

* ``nbgrader (serial)``, the baseline: what an instructor would run by hand, in a course
  directory configured like ours (per-cell timeout, kernel ``python3``, hidden tests
  cleared from feedback): ``nbgrader generate_assignment``, ``nbgrader autograde``
  (every student, one after the other, in one process), ``nbgrader generate_feedback``;
* ``course grade --engine nbgrader --jobs 2``: our parallel workers running plain
  nbgrader autograde (student code and tests in the same kernel: no isolation);
* ``course grade --jobs 1`` and ``--jobs 2`` (the secure engine, the default): each
  student's code in a bubblewrap sandbox as an unprivileged user under resource limits,
  every test in the grader. Its ratio to the nbgrader engine at the same ``--jobs`` is
  the **overhead of isolation**.

on two classes:

* ``class30``: 30 generated submissions: the sample class's students that finish
  normally and the reference solution, cycled under new names (the issue's benchmark:
  target ≤ 6 s per submission amortised on 2 cores);
* ``sample``: the nine students of ``course/sample_submissions/hw1_ntk`` as they are,
  including a cell that loops (timeout, 10 s per cell) and a dead kernel.

All runs use ``--cell-timeout 10``. ``s/submission`` is the total divided by the number
of submissions (set-up included); ``vs serial nbgrader`` is the baseline's total over the
run's total, both measured in this run. The machine's core count is printed with the table.

    python benchmarks/grading.py            # both classes, ~20 min on 2 cores
    python benchmarks/grading.py --quick    # 10 submissions, no sample class
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "hw1_ntk"
SAMPLE = ROOT / "course" / "sample_submissions" / NAME
RESULTS = ROOT / "benchmarks" / "results" / "grading.md"
CELL_TIMEOUT = 10
UNUSUAL = {"frank", "ivan"}  # the looping and the kernel-killing students

NBGRADER_CONFIG = f"""\
c = get_config()
c.CourseDirectory.course_id = "deeptheory"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".hypothesis"]
c.Execute.timeout = {CELL_TIMEOUT}
c.Execute.kernel_name = "python3"
c.OverwriteCells.add_missing_cells = True
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


def environment(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(scratch / "jupyter_config")
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(scratch / "hypothesis")
    env["MPLBACKEND"] = "Agg"
    return env


def make_classes(scratch: Path) -> dict[str, Path]:
    """The two classes as folders of <student>.ipynb."""
    import nbformat

    from deeptheory.course.build import source_notebook
    from deeptheory.course.check import filled

    sample = scratch / "sample"
    shutil.copytree(SAMPLE, sample)
    models = scratch / "models"
    models.mkdir()
    for notebook in sorted(SAMPLE.glob("*.ipynb")):
        if notebook.stem not in UNUSUAL:
            shutil.copyfile(notebook, models / notebook.name)
    release = nbformat.read(ROOT / "exercises" / f"{NAME}.ipynb", as_version=4)
    source = source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py")
    nbformat.write(filled(release, source), models / "solution.ipynb")
    cycle = sorted(models.glob("*.ipynb"))
    classes = {"sample": sample}
    for label, count in (("class30", 30), ("class10", 10)):
        folder = scratch / label
        folder.mkdir()
        for i in range(count):
            model = cycle[i % len(cycle)]
            shutil.copyfile(model, folder / f"s{i:02d}_{model.stem}.ipynb")
        classes[label] = folder
    return classes


def run_nbgrader(folder: Path, scratch: Path, env: dict[str, str]) -> float:
    """The baseline: nbgrader's own CLI, serially, in one course directory."""
    import nbformat

    from deeptheory.course.build import source_notebook

    course = scratch / f"nbgrader-{folder.name}"
    (course / "source" / NAME).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    nbformat.write(
        source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py"),
        course / "source" / NAME / f"{NAME}.ipynb",
    )
    for notebook in folder.glob("*.ipynb"):
        target = course / "submitted" / notebook.stem / NAME
        target.mkdir(parents=True)
        shutil.copyfile(notebook, target / f"{NAME}.ipynb")
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    start = time.perf_counter()
    for step in (
        ["generate_assignment", NAME, "--force"],
        ["autograde", NAME, "--force"],
        ["generate_feedback", NAME, "--force"],
    ):
        subprocess.run(
            [nbgrader, *step],
            cwd=course,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,  # autograde exits 1 when a submission fails (the dead kernel)
        )
    seconds = time.perf_counter() - start
    feedback = list((course / "feedback").glob(f"*/{NAME}/{NAME}.html"))
    print(f"  nbgrader wrote {len(feedback)} feedback pages", file=sys.stderr)
    return seconds


def run_ours(
    folder: Path, scratch: Path, env: dict[str, str], jobs: int, engine: str
) -> float:
    out = scratch / f"ours-{folder.name}-{jobs}-{engine}"
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable, "-m", "deeptheory", "course", "grade", NAME, str(folder),
            "--out", str(out), "--jobs", str(jobs), "--no-progress",
            "--cell-timeout", str(CELL_TIMEOUT), "--root", str(ROOT),
            "--engine", engine,
        ],
        env=env,
        capture_output=True,
        text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"deeptheory course grade failed:\n{result.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10 submissions, no sample class"
    )
    parser.add_argument("--out", default=str(RESULTS), help="where to write the table")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="deeptheory-bench-grading-") as tmp:
        scratch = Path(tmp)
        env = environment(scratch)
        classes = make_classes(scratch)
        picked = ["class10"] if args.quick else ["class30", "sample"]
        runs = [("nbgrader", 2), ("secure", 2)] + (
            [] if args.quick else [("secure", 1)]
        )
        for label in picked:
            folder = classes[label]
            count = len(list(folder.glob("*.ipynb")))
            print(f"{label}: {count} submissions", file=sys.stderr)
            base = run_nbgrader(folder, scratch, env)
            rows.append((label, count, "nbgrader (serial)", base, base, None))
            print(f"  nbgrader serial: {base:.1f} s", file=sys.stderr)
            plain = None
            for engine, jobs in runs:
                seconds = run_ours(folder, scratch, env, jobs, engine)
                run = f"course grade --engine {engine} --jobs {jobs}"
                if engine == "nbgrader":
                    plain = seconds
                overhead = seconds / plain if engine == "secure" and jobs == 2 else None
                rows.append((label, count, run, seconds, base, overhead))
                print(f"  {run}: {seconds:.1f} s", file=sys.stderr)
    lines = [
        f"# Grading benchmark ({os.cpu_count()} cores, cell timeout {CELL_TIMEOUT} s)",
        "",
        "| class | submissions | run | total (s) | s/submission | vs serial nbgrader "
        "| isolation overhead |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, count, run, seconds, base, overhead in rows:
        cost = "" if overhead is None else f"{overhead:.2f}×"
        lines.append(
            f"| {label} | {count} | {run} | {seconds:.1f} | {seconds / count:.2f} "
            f"| {base / seconds:.2f}× | {cost} |"
        )
    lines += [
        "",
        "isolation overhead: the secure engine's total over the nbgrader engine's, both",
        "with --jobs 2 on the same class in this run.",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
