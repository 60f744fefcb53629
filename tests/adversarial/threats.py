"""The adversarial class of Homework 1: one hostile or broken submission per threat.

Each case is a function ``build(ctx)`` registered under the student's name with
:func:`threat`; its docstring says what it models. It returns the notebook the student
hands in (written by the harness), or writes a malformed file to ``ctx.path`` itself and
returns None. Notebooks are built like the sample class (``course/sample_class``): the
released exercise with each stub replaced by a function body (``answers``) and code
appended at the top level of a cell (``after``), the correct bodies being ``COMMON``.

The expected outcome of every case is asserted in ``test_adversarial.py``.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from deeptheory.course.build import STUB, student_notebook

ROOT = Path(__file__).resolve().parents[2]
NAME = "hw1_ntk"

#: a line of the control's notebook that no other student may ever see
CONTROL_SECRET = "a_control's private note 5b1f0c9e"
#: files the harness puts beside the submissions and in the output folder
CANARY_SUBMISSIONS = "submissions-folder canary 71d3a4"
CANARY_OUT = "output-folder canary 0e96b2"
#: unique arguments of the background processes of ``c09`` (found in /proc afterwards)
SLEEP_POPEN, SLEEP_DAEMON = "987.654", "987.655"


def _sample_class():
    spec = importlib.util.spec_from_file_location(
        "adversarial_sample_class", ROOT / "course" / "sample_class" / f"{NAME}.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_SAMPLE = _sample_class()
COMMON: dict[str, str] = dict(_SAMPLE.COMMON)
STUDENTS: dict[str, dict] = dict(_SAMPLE.STUDENTS)
mistake = _SAMPLE.mistake

#: exercise (solution cell) → its graded cells and their points; 14 in all
EXERCISES = {
    "one_hidden_layer_ntk": {
        "one_hidden_layer_ntk_visible": 1,
        "one_hidden_layer_ntk_hidden": 2,
    },
    "autograd_ntk": {"autograd_ntk_visible": 1, "autograd_ntk_hidden": 2},
    "relu_ntk": {"relu_ntk_visible": 1, "relu_ntk_hidden": 2},
    "ntk_relative_errors": {
        "ntk_relative_errors_visible": 1,
        "ntk_relative_errors_hidden": 2,
    },
    "width_exponent": {"width_exponent_visible": 1, "width_exponent_hidden": 1},
}

#: wrong answers that fail every visible test honestly (used with patched helpers)
WRONG = {
    "one_hidden_layer_ntk": (  # not symmetric
        "return torch.ones(len(x1), len(x2), dtype=x1.dtype).cumsum(1)"
    ),
    "autograd_ntk": "return torch.zeros(len(x1), len(x2), dtype=x1.dtype)",
    "relu_ntk": "return torch.zeros(len(x1), len(x2), dtype=x1.dtype)",
    "ntk_relative_errors": (
        "return torch.zeros(len(widths), ensemble, dtype=x1.dtype)"
    ),
    "width_exponent": "return torch.tensor(0.0, dtype=errors.dtype)",
}


@dataclass
class Context:
    """What a case may use: the releases, where it will be written, and the folders of
    the run (a student guessing these paths is the threat being modelled)."""

    release: nbformat.NotebookNode  # exercises/hw1_ntk.ipynb
    other_release: nbformat.NotebookNode  # exercises/hw2_lazy_feature.ipynb
    path: Path  # where this submission goes
    submissions: Path
    out: Path
    root: Path = ROOT

    def filled(self, answers=None, after=None) -> nbformat.NotebookNode:
        """The release with ``answers`` (default: all correct) and ``after``."""
        answers = dict(COMMON) if answers is None else answers
        answers = {k: v for k, v in answers.items() if v is not None}
        return student_notebook(self.release, answers, after or {})

    def fill(self, template: str) -> str:
        """``template`` with <ROOT>, <SUB> and <OUT> replaced by this run's folders."""
        for key, value in (
            ("<ROOT>", self.root),
            ("<SUB>", self.submissions),
            ("<OUT>", self.out),
        ):
            template = template.replace(key, str(value))
        return template


#: student → case builder, in the order they are defined
CASES: dict[str, Callable[[Context], nbformat.NotebookNode | None]] = {}


def threat(student: str):
    def register(build):
        CASES[student] = build
        return build

    return register


def answers(**changes: str | None) -> dict[str, str | None]:
    """The correct answers with some changed (None: left as the stub)."""
    return {**COMMON, **changes}


def cell(nb, grade_id: str):
    return next(
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


# --- control -----------------------------------------------------------------------


@threat("a_control")
def control(ctx):
    """Correct answers (the sample class's common ones), plus a private comment that must
    never appear in anyone else's output. Graded first, so that its files exist while
    the attackers run."""
    body = f"# {CONTROL_SECRET}\n" + COMMON["width_exponent"]
    return ctx.filled(answers(width_exponent=body))


@threat("b_blank")
def blank(ctx):
    """Nothing attempted: the release as it is."""
    return copy.deepcopy(ctx.release)


# --- 1-3: ordinary mistakes ----------------------------------------------------------


@threat("c01_wrong_answer")
def wrong_answer(ctx):
    """Carol's mistake (net.weight_std for net.scale(1)) in exercise 1: the visible
    test passes, the hidden one does not."""
    carol = STUDENTS["carol"]["answers"]["one_hidden_layer_ntk"]
    return ctx.filled(answers(one_hidden_layer_ntk=carol))


@threat("c02_raises")
def raises(ctx):
    """Exercise 3 raises NameError (``d`` never defined) on every call."""
    body = mistake("relu_ntk", ("d, b2 = x1.shape[1], bias_std**2", "b2 = bias_std**2"))
    return ctx.filled(answers(relu_ntk=body))


@threat("c03_syntax_error")
def syntax_error(ctx):
    """An unbalanced parenthesis in exercise 2's cell: nothing in it is defined."""
    body = mistake(
        "autograd_ntk",
        (
            "return jacobian(x1) @ jacobian(x2).T",
            "return jacobian(x1) @ jacobian(x2).T)",
        ),
    )
    return ctx.filled(answers(autograd_ntk=body))


# --- 4-9: the kernel's resources -------------------------------------------------


@threat("c04_infinite_loop")
def infinite_loop(ctx):
    """Exercise 3 never returns (an interruptible busy loop)."""
    return ctx.filled(answers(relu_ntk="while True:\n    pass"))


@threat("c05a_ignores_interrupt")
def ignores_interrupt(ctx):
    """Exercise 3 swallows KeyboardInterrupt (any BaseException) and goes on looping:
    interrupting the kernel does not stop it."""
    body = """
while True:
    try:
        while True:
            pass
    except BaseException:  # "keep trying"
        pass
"""
    return ctx.filled(answers(relu_ntk=body))


@threat("c05b_sigint_ignored")
def sigint_ignored(ctx):
    """Exercise 3 sets SIGINT to SIG_IGN, then loops: the interrupt never arrives."""
    body = """
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""
    return ctx.filled(answers(relu_ntk=body))


@threat("c06a_exit_top_level")
def exit_top_level(ctx):
    """``os._exit(1)`` at the top level of exercise 3's cell, after the function: the
    kernel dies while running that cell (the cell never finished: as if it raised)."""
    return ctx.filled(answers(), after={"relu_ntk": "import os\n\nos._exit(1)"})


@threat("c06b_kill_in_function")
def kill_in_function(ctx):
    """Exercise 3 sends SIGKILL to its own kernel each time it is called."""
    return ctx.filled(answers(relu_ntk="import os\n\nos.kill(os.getpid(), 9)"))


@threat("c07_memory_hog")
def memory_hog(ctx):
    """Exercise 3 first allocates 40 GB in 256 MB steps, touching every page, then
    computes the right answer: only the memory limit can make it fail."""
    body = """
hog = []
for _ in range(160):  # 160 x 256 MB = 40 GB, written (torch.ones), not just reserved
    hog.append(torch.ones(32 * 2**20, dtype=torch.float64))
""" + COMMON["relu_ntk"]
    return ctx.filled(answers(relu_ntk=body))


@threat("c08_output_flood")
def output_flood(ctx):
    """~300 MB printed at the top level of exercise 3's cell, 1 MB at a time; the
    answers are all right."""
    flood = "for _ in range(300):\n    print('flood ' * 174763)  # ~1 MB a line"
    return ctx.filled(answers(), after={"relu_ntk": flood})


@threat("c09_background_processes")
def background_processes(ctx):
    """Two processes that outlive their cell: a ``sleep`` started with Popen, and a
    daemon (fork, setsid, fork, exec ``sleep``) that left the kernel's session. Three
    processes at most, no fork bomb; the answers are all right."""
    code = f"""
import os
import subprocess

subprocess.Popen(["sleep", "{SLEEP_POPEN}"])
_child = os.fork()
if _child == 0:  # the child never returns to the kernel
    try:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{SLEEP_DAEMON}"])
    finally:
        os._exit(0)
os.waitpid(_child, 0)
"""
    return ctx.filled(answers(), after={"one_hidden_layer_ntk": code})


# --- 10-11: the comparison and the reference --------------------------------------


@threat("c10a_patched_helpers")
def patched_helpers(ctx):
    """Every answer wrong, and every helper a test could use to see it disabled:
    torch's and numpy's comparisons, deeptheory's checks and grader, AssertionError."""
    code = """
import builtins

import numpy.testing
import torch.testing

import deeptheory.grading
import deeptheory.testing

torch.testing.assert_close = lambda *args, **kwargs: None
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
deeptheory.testing.assert_close = lambda *args, **kwargs: None
deeptheory.testing.assert_like = lambda *args, **kwargs: None
deeptheory.grading.check_against_reference = lambda *args, **kwargs: None
AssertionError = type("AssertionError", (Warning,), {})
builtins.AssertionError = AssertionError
"""
    return ctx.filled(dict(WRONG), after={"one_hidden_layer_ntk": code})


@threat("c10b_patched_builtins")
def patched_builtins(ctx):
    """Every answer wrong, and the builtins the visible tests use patched: isinstance
    says yes to torch.Tensor, abs is always 0."""
    code = """
import builtins

_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: cls is torch.Tensor or _isinstance(obj, cls)
builtins.abs = lambda value: 0.0
"""
    return ctx.filled(dict(WRONG), after={"one_hidden_layer_ntk": code})


@threat("c11a_imports_reference")
def imports_reference(ctx):
    """Exercise 1 returns the library's empirical_ntk (Grace's answer)."""
    grace = STUDENTS["grace"]["answers"]["one_hidden_layer_ntk"]
    return ctx.filled(answers(one_hidden_layer_ntk=grace))


def _body_of(function) -> str:
    """The source of ``function`` after its signature (docstring included)."""
    lines = textwrap.dedent(inspect.getsource(function)).splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(":"))
    return textwrap.dedent("\n".join(lines[start + 1 :]))


@threat("c11b_copied_reference")
def copied_reference(ctx):
    """The reference's source pasted as the student's own: exercise 1 is deeptheory.
    ntk_fc's features and Gram (nested, verbatim), exercise 4's fit the body of
    deeptheory.experiments.ntk_convergence.width_exponent."""
    import deeptheory.experiments.ntk_convergence as convergence
    import deeptheory.ntk_fc as ntk_fc

    pasted = "\n\n".join(
        textwrap.dedent(inspect.getsource(f))
        for f in (ntk_fc.FCFeatures, ntk_fc.fc_features, ntk_fc.fc_gram)
    )
    one = f"""
from dataclasses import dataclass

from deeptheory.models import Params

Tensor = torch.Tensor

{pasted}

f1, f2 = fc_features(net, params, x1), fc_features(net, params, x2)
return fc_gram(net, f1, f2, per_output=False)
"""
    fit = (
        "from deeptheory._validation import check_tensor\n\nTensor = torch.Tensor\n"
        + _body_of(convergence.width_exponent)
    )
    return ctx.filled(answers(one_hidden_layer_ntk=one, width_exponent=fit))


@threat("c11c_exec_reference_source")
def exec_reference_source(ctx):
    """Exercise 4's fit is the reference's source, read with inspect.getsource and
    exec'd into a fresh function (a new code object: no call to the reference)."""
    body = """
import inspect

import deeptheory.experiments.ntk_convergence as reference

namespace = dict(vars(reference))
exec(inspect.getsource(reference.width_exponent), namespace)
return namespace["width_exponent"](widths, errors)
"""
    return ctx.filled(answers(width_exponent=body))


# --- 12-13: the grader's files -----------------------------------------------------

SNOOP = """
import glob
import os
from pathlib import Path

import deeptheory

_library = Path(deeptheory.__file__).resolve().parents[1]
_scratch = [p for p in Path.cwd().parents if p.name.startswith("deeptheory-grade-")]
_targets = [
    "<ROOT>/solutions/hw1_ntk/hw1_ntk.py",
    str(_library / "solutions" / "hw1_ntk" / "hw1_ntk.py"),
    "<OUT>/canary.txt",
    "<OUT>/results/a_control.json",
    "<OUT>/feedback/a_control.html",
    "<OUT>/grades.csv",
    "<SUB>/notes.txt",
    "<SUB>/a_control.ipynb",
    "../../source/hw1_ntk/hw1_ntk.ipynb",
    *[str(p / "template" / "source" / "hw1_ntk" / "hw1_ntk.ipynb") for p in _scratch],
    *sorted(glob.glob("/tmp/deeptheory-grade-*/**/source/*/*.ipynb", recursive=True)),
]
for _path in _targets:
    try:
        with open(_path, encoding="utf-8") as _file:
            print(f"=== read {_path}:\\n{_file.read()}")
    except Exception as _error:
        print(f"=== read {_path}: {type(_error).__name__}")
try:  # the hidden tests are also in the course repository's history
    import subprocess

    _git = ["git", "-c", "safe.directory=*", "-C", "<ROOT>", "show"]
    _done = subprocess.run(
        [*_git, "HEAD:solutions/hw1_ntk/hw1_ntk.py"], capture_output=True, text=True
    )
    print(f"=== read git HEAD:solutions: {_done.returncode}\\n{_done.stdout}")
    print(_done.stderr[:200])
except Exception as _error:
    print(f"=== read git HEAD:solutions: {type(_error).__name__}")
for _folder in ["<SUB>", "<OUT>/results", "<ROOT>/solutions/hw1_ntk"]:
    try:
        print(f"=== list {_folder}: {sorted(os.listdir(_folder))}")
    except Exception as _error:
        print(f"=== list {_folder}: {type(_error).__name__}")
"""

SNOOP_IN_FUNCTION = """
for path in [
    "<ROOT>/solutions/hw1_ntk/hw1_ntk.py",
    "<OUT>/results/a_control.json",
    "<SUB>/a_control.ipynb",
]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except Exception:
        continue
    raise RuntimeError(f"leaked {path}: {text}")  # in the feedback, if it worked
"""


@threat("c12_reads_secrets")
def reads_secrets(ctx):
    """Reads the hidden tests (the repo's solutions/, found by absolute path and from
    deeptheory.__file__; the repo's git history; nbgrader's course copy), another
    student's submission and results, canaries in the submissions and output folders,
    and prints them; exercise 4 also tries, and raises with what it read (its message
    reaches the feedback). The answers are all right."""
    fit = ctx.fill(SNOOP_IN_FUNCTION) + COMMON["width_exponent"]
    return ctx.filled(
        answers(width_exponent=fit), after={"one_hidden_layer_ntk": ctx.fill(SNOOP)}
    )


WRITES = """
import json
from pathlib import Path

_fake = {"student": "c13_writes_files", "score": 14, "max_score": 14, "cells": {},
         "flags": [], "needs_manual_grade": False, "seconds": 1, "feedback": None}
_writes = [
    ("<SUB>/a_control.ipynb", "w", "{}"),
    ("<SUB>/c13_writes_files.ipynb", "w", "{}"),
    ("<SUB>/zz_new_student.ipynb", "w", "{}"),
    ("<OUT>/grades.csv", "w", "student,score\\nc13_writes_files,14\\n"),
    ("<OUT>/results/a_control.json", "w", '{"student": "a_control", "score": 0}'),
    ("<OUT>/results/c13_writes_files.json", "w", json.dumps(_fake)),
    ("<OUT>/feedback/a_control.html", "w", "<p>c13 was here</p>"),
    ("<OUT>/review.csv", "w", "student,reasons\\n"),
    ("<ROOT>/exercises/hw1_ntk.ipynb", "a", "\\n"),
    ("<ROOT>/solutions/hw1_ntk/hw1_ntk.py", "a", "\\n# c13 was here\\n"),
]
for _p in Path.cwd().parents:  # nbgrader's course copy: its gradebook
    if _p.name.startswith("deeptheory-grade-"):
        _writes.append((str(_p / "template" / "gradebook.db"), "w", "c13 was here"))
for _path, _mode, _text in _writes:
    try:
        with open(_path, _mode, encoding="utf-8") as _file:
            _file.write(_text)
        print(f"=== wrote {_path}")
    except Exception as _error:
        print(f"=== write {_path}: {type(_error).__name__}")
"""


@threat("c13_writes_files")
def writes_files(ctx):
    """Overwrites another student's submission and its own, adds a submission, rewrites
    the grade table, another student's result and feedback and its own result (a
    fake 14), appends to the release and to the hidden tests' source, truncates
    nbgrader's gradebook. Exercise 4 is left undone: it deserves 12."""
    return ctx.filled(
        answers(width_exponent=None), after={"one_hidden_layer_ntk": ctx.fill(WRITES)}
    )


# --- 14: locked cells --------------------------------------------------------------


@threat("c14a_edited_locked_cells")
def edited_locked_cells(ctx):
    """Correct answers; exercise 1's visible test replaced by ``pass``, exercise 3's
    hidden-test cell deleted, a line added to the setup cell."""
    nb = ctx.filled()
    cell(nb, "one_hidden_layer_ntk_visible").source = "pass"
    nb.cells.remove(cell(nb, "relu_ntk_hidden"))
    cell(nb, "setup").source += '\nprint("my own setup")'
    return nb


@threat("c14b_disabled_visible_test")
def disabled_visible_test(ctx):
    """Exercise 2 wrong (zeros), and its visible test, which would show it, replaced by
    ``pass``."""
    nb = ctx.filled(answers(autograd_ntk=WRONG["autograd_ntk"]))
    cell(nb, "autograd_ntk_visible").source = "pass"
    return nb


# --- 15: malformed notebooks -------------------------------------------------------


@threat("c15a_invalid_json")
def invalid_json(ctx):
    """A truncated upload: the first half of a correct notebook's JSON."""
    text = nbformat.writes(ctx.filled())
    ctx.path.write_text(text[: len(text) // 2], encoding="utf-8")


@threat("c15b_nbformat3")
def nbformat3(ctx):
    """A correct notebook saved in the old nbformat 3 (worksheets, no cell ids)."""
    old = nbformat.convert(ctx.filled(), 3)
    ctx.path.write_text(nbformat.writes(old, version=3), encoding="utf-8")


@threat("c15c_no_cells_key")
def no_cells_key(ctx):
    """Valid JSON of nbformat 4 without its "cells"."""
    data = json.loads(nbformat.writes(ctx.filled()))
    del data["cells"]
    ctx.path.write_text(json.dumps(data), encoding="utf-8")


@threat("c15d_solution_cells_deleted")
def solution_cells_deleted(ctx):
    """Every solution cell deleted; the text and the test cells are there."""
    nb = ctx.filled()
    for grade_id in EXERCISES:
        nb.cells.remove(cell(nb, grade_id))
    return nb


@threat("c15e_huge_output")
def huge_output(ctx):
    """Correct answers, with 100 MB of saved output in exercise 1's cell (written in
    1 MB chunks: the test never holds it in memory)."""
    nb = ctx.filled()
    placeholder = "@@HUGE-OUTPUT@@"
    cell(nb, "one_hidden_layer_ntk").outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=placeholder)
    ]
    cell(nb, "one_hidden_layer_ntk").execution_count = 1
    head, tail = nbformat.writes(nb).split(placeholder)
    chunk = "0123456789abcdef" * 2**16  # 1 MiB
    with open(ctx.path, "w", encoding="utf-8") as file:
        file.write(head)
        for _ in range(100):
            file.write(chunk)
        file.write(tail)


@threat("c15f_one_solution_cell_deleted")
def one_solution_cell_deleted(ctx):
    """Exercise 3's solution cell deleted, the rest correct."""
    nb = ctx.filled()
    nb.cells.remove(cell(nb, "relu_ntk"))
    return nb


# --- 16: another homework ----------------------------------------------------------


@threat("c16a_wrong_homework_filled")
def wrong_homework_filled(ctx):
    """Homework 2's notebook, every function 'answered' (returns None)."""
    nb = copy.deepcopy(ctx.other_release)
    for c in nb.cells:
        if STUB in c.source:
            c.source = c.source.replace(STUB, "    return None")
    return nb


@threat("c16b_wrong_homework_blank")
def wrong_homework_blank(ctx):
    """Homework 2's notebook as released."""
    return copy.deepcopy(ctx.other_release)


def write_class(folder: Path, out: Path) -> dict[str, Path]:
    """Write every case into ``folder`` as ``<student>.ipynb``; student → path."""
    release = nbformat.read(ROOT / "exercises" / f"{NAME}.ipynb", as_version=4)
    other = nbformat.read(ROOT / "exercises" / "hw2_lazy_feature.ipynb", as_version=4)
    paths = {}
    for student, build in CASES.items():
        path = folder / f"{student}.ipynb"
        ctx = Context(release, other, path, folder, out)
        nb = build(ctx)
        if nb is not None:
            nbformat.write(nb, path)
        paths[student] = path
    return paths
