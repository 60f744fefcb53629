"""The ``deeptheory`` command.

    deeptheory --help
    deeptheory ntk-convergence [--quick] [--out FIGURE]
    deeptheory reproduce NAME [--quick]      (NAME: see deeptheory.experiments.REPRODUCTIONS)
    deeptheory course build | check [HOMEWORK ...] | grade HOMEWORK SUBMISSIONS [--out DIR]
    deeptheory slides build [--quick] [--out DIR] [DECK ...]

Subcommands import their experiment lazily, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace

from deeptheory import __version__


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default=None,
        help="torch device to compute on (default: cuda if available, else cpu)",
    )


def _ntk_convergence(args: argparse.Namespace) -> int:
    args.device = args.device or _default_device()
    from deeptheory.experiments.ntk_convergence import (
        NTKConvergenceConfig,
        plot_ntk_convergence,
        run_ntk_convergence,
    )

    config = NTKConvergenceConfig(device=args.device)
    if args.quick:
        config = replace(config, widths=(64, 256, 1024), seeds=4, points=41)
    if args.widths:
        config = replace(config, widths=tuple(args.widths))
    if args.seeds:
        config = replace(config, seeds=args.seeds)
    result = run_ntk_convergence(config, progress=not args.no_progress)
    path = plot_ntk_convergence(result, args.out)
    print("width  relative error ‖Θ_h − Θ_∞‖/‖Θ_∞‖ (mean ± std over seeds)")
    for h in sorted(result.empirical):
        err = result.relative_errors(h)
        print(f"{h:>6}  {float(err.mean()):.4f} ± {float(err.std()):.4f}")
    print(f"log-log slope of the error against the width: {result.slope():+.3f}")
    print("(theory: −0.5)")
    print(f"computed on {config.device}; figure written to {path}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from deeptheory.experiments import reproduction

    device = args.device or _default_device()
    lines, path = reproduction(args.name)(
        args.name,
        quick=args.quick,
        device=device,
        progress=not args.no_progress,
        out=args.out or f"figures/{args.name}.png",
    )
    print("\n".join(lines))
    print(f"computed on {device}; figure written to {path}")
    return 0


def _course(args: argparse.Namespace) -> int:
    import logging
    import warnings
    from pathlib import Path

    root = Path(args.root)
    if not (root / "solutions").is_dir():
        print(
            f"error: {root / 'solutions'} not found (run from the course root or give --root)",
            file=sys.stderr,
        )
        return 2
    # nbgrader 0.9 logs SQLAlchemy warnings and kernel notices on every submission
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    if args.action == "build":
        from deeptheory.course.build import build

        try:
            for path in build(root):
                print(f"wrote {path}")
        except ValueError as error:  # a homework source with bad nbgrader metadata
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    if args.action == "grade":
        return _course_grade(args, root)
    from deeptheory.course.check import check

    problems, report = check(root, only=args.homeworks or None)
    print("\n".join(report))
    for problem in problems:
        print(f"FAILED: {problem}")
    print(f"course check: {'FAILED' if problems else 'passed'}")
    return 1 if problems else 0


def _course_grade(args: argparse.Namespace, root) -> int:
    import time
    from pathlib import Path

    from deeptheory.course.grade import format_table, grade

    start = time.perf_counter()
    try:
        results, out = grade(
            args.homework,
            Path(args.submissions),
            root=root,
            out=None if args.out is None else Path(args.out),
            jobs=args.jobs,
            cell_timeout=args.cell_timeout,
            wall_clock=args.wall_clock,
            feedback=not args.no_feedback,
            force=args.force,
            progress=not args.no_progress,
            engine=args.engine,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every submission graded so far is saved; run the same "
            "command again to grade the rest",
            file=sys.stderr,
        )
        return 130
    expected = None
    if args.expect is not None:
        from deeptheory.course.build import load_students

        students = load_students(Path(args.expect))
        expected = {k: (v["score"], tuple(v["flags"])) for k, v in students.items()}
    print(format_table(results, expected=expected))
    graded = sum(r.seconds > 0 for r in results.values())
    reused = len(results) - graded
    print(
        f"\n{len(results)} submissions ({graded} graded, {reused} unchanged since the "
        f"last run) in {time.perf_counter() - start:.1f} s"
    )
    print(f"grades:   {out / 'grades.csv'}")
    if args.engine == "secure":
        from deeptheory.course.sandbox import bubblewrap, isolation

        print(f"isolation: {isolation()}")
        if bubblewrap() is None:
            print(
                "warning: bubblewrap (bwrap) is missing or does not work here: students' "
                "kernels could read and write the grader's files. Install it "
                "(apt-get install bubblewrap) before grading a real class.",
                file=sys.stderr,
            )
    if not args.no_feedback:
        print(f"feedback: {out / 'feedback'}/<student>.html")
    flagged = [s for s, r in results.items() if r.needs_manual_grade]
    if flagged:
        print(
            f"look at by hand (not graded automatically): {', '.join(sorted(flagged))}"
        )
    if expected is not None:
        wrong = set(expected) ^ set(results)
        wrong |= {
            s
            for s, r in results.items()
            if s in expected and (r.score, r.flags) != expected[s]
        }
        if wrong:
            print(f"NOT AS EXPECTED ({args.expect}): {', '.join(sorted(wrong))}")
            return 1
        print(f"every score and flag is as expected ({args.expect})")
    return 0


def _slides(args: argparse.Namespace) -> int:
    from deeptheory.slides.build import main_build

    return main_build(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deeptheory",
        description="Reference library, homework and seminar figures for the theory of "
        "deep learning.",
    )
    parser.add_argument(
        "--version", action="version", version=f"deeptheory {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    conv = sub.add_parser(
        "ntk-convergence",
        help="empirical NTK vs its infinite-width limit (Jacot et al. 2018, Fig. 1)",
        description="Empirical NTK Θ(x₀, x(γ)) on the unit circle for several widths and "
        "seeds, against the analytic limit; saves a figure and prints the relative error "
        "per width.",
    )
    conv.add_argument(
        "--quick", action="store_true", help="small widths, 4 seeds (~10 s)"
    )
    conv.add_argument("--widths", type=_positive_int, nargs="+", help="widths h to run")
    conv.add_argument("--seeds", type=_positive_int, help="initialisations per width")
    conv.add_argument(
        "--out", default="figures/ntk_convergence.png", help="where to save the figure"
    )
    conv.add_argument("--no-progress", action="store_true", help="hide progress bars")
    _add_device_option(conv)
    conv.set_defaults(func=_ntk_convergence)

    from deeptheory.experiments import REPRODUCTIONS

    reproduce = sub.add_parser(
        "reproduce",
        help="reproduce a published figure at CPU scale (figures/NAME.png)",
        description="\n".join(f"{k}: {v[1]}." for k, v in REPRODUCTIONS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reproduce.add_argument("name", choices=list(REPRODUCTIONS))
    reproduce.add_argument(
        "--quick", action="store_true", help="smaller sizes (~30 s), used by the tests"
    )
    reproduce.add_argument("--out", help="the figure (default: figures/NAME.png)")
    reproduce.add_argument(
        "--no-progress", action="store_true", help="hide progress bars"
    )
    _add_device_option(reproduce)
    reproduce.set_defaults(func=_reproduce)

    course = sub.add_parser(
        "course",
        help="homework pipeline: build the exercises, check the gate (needs [course])",
        description="build: regenerate exercises/ from solutions/. check: for every "
        "homework, the solution scores full marks, the blank exercise 0, every mutant "
        "fails a hidden test, and the committed exercise is fresh.",
    )
    actions = course.add_subparsers(dest="action", metavar="ACTION", required=True)
    root_help = "the folder holding solutions/ (default: the current folder)"
    for action, text in [
        ("build", "regenerate exercises/ from solutions/"),
        ("check", "the gate: solution full marks, blank 0, every mutant caught, fresh"),
    ]:
        sub_action = actions.add_parser(action, help=text, description=text)
        sub_action.add_argument("--root", default=".", help=root_help)
        if action == "check":
            sub_action.add_argument(
                "homeworks",
                nargs="*",
                metavar="HOMEWORK",
                help="check only these (e.g. hw1_ntk); default: every homework",
            )
    grading = actions.add_parser(
        "grade",
        help="autograde a folder of student notebooks",
        description="Autograde every <student>.ipynb (or <student>/HOMEWORK.ipynb) in "
        "SUBMISSIONS, in parallel, each student's code in a sandboxed kernel of its own; "
        "writes grades.csv, review.csv (the manual-review list with reasons), "
        "feedback/<student>.html (hidden tests removed) and results/<student>.json to "
        "--out, and prints the grade table. Rerunning resumes: unchanged submissions are "
        "not graded again. The submissions are only read.",
    )
    grading.add_argument("homework", help="e.g. hw1_ntk (a folder of solutions/)")
    grading.add_argument("submissions", help="the folder of student notebooks")
    grading.add_argument("--out", help="output folder (default: grades/HOMEWORK)")
    grading.add_argument(
        "--jobs",
        type=_positive_int,
        help="parallel graders (default: one per core, at most 8)",
    )
    grading.add_argument(
        "--cell-timeout",
        type=_positive_int,
        default=30,
        help="seconds a cell may run before it is interrupted (default: 30)",
    )
    grading.add_argument(
        "--wall-clock",
        type=_positive_int,
        default=600,
        help="seconds a whole submission may take before it is killed (default: 600)",
    )
    grading.add_argument(
        "--engine",
        choices=("secure", "nbgrader"),
        default="secure",
        help="secure (default): each student's code in a sandboxed kernel, every test "
        "in the grader, which never runs student code; nbgrader: nbgrader's autograde "
        "in the student's kernel (student code can subvert it; for comparison)",
    )
    grading.add_argument("--force", action="store_true", help="regrade everything")
    grading.add_argument(
        "--expect",
        metavar="CLASS.py",
        help="a sample-class file (course/sample_class/*.py): show the expected score "
        "and flags of each student, and exit 1 if any differs",
    )
    grading.add_argument(
        "--no-feedback", action="store_true", help="skip the feedback pages"
    )
    grading.add_argument("--no-progress", action="store_true", help="hide progress")
    grading.add_argument("--root", default=".", help=root_help)
    course.set_defaults(func=_course)

    slides = sub.add_parser(
        "slides",
        help="build the seminar decks (offline reveal.js; needs [course] and npm)",
        description="build: execute every deck of seminar_slides/ (jupytext sources) and "
        "export it as a self-contained reveal.js page; reveal.js and KaTeX are installed "
        "from the npm registry (npm ci) and copied next to the decks.",
    )
    slide_actions = slides.add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    slide_build = slide_actions.add_parser(
        "build",
        help="execute the decks and write OUT/<deck>.html and OUT/index.html",
        description="Execute the decks (each in a fresh kernel; a deck whose source and "
        "library are unchanged since the last build is not executed again) and write "
        "self-contained reveal.js pages that work offline.",
    )
    slide_build.add_argument(
        "decks", nargs="*", metavar="DECK", help="e.g. 01_ntk; default: every deck"
    )
    slide_build.add_argument(
        "--quick",
        action="store_true",
        help="small runs (a few minutes for every deck), used by the tests",
    )
    slide_build.add_argument(
        "--out", help="output folder (default: seminar_slides/_build)"
    )
    slide_build.add_argument(
        "--force", action="store_true", help="execute even the unchanged decks"
    )
    slide_build.add_argument(
        "--root", default=".", help="the folder holding seminar_slides/ (default: .)"
    )
    slides.set_defaults(func=_slides)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
