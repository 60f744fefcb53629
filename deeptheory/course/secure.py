"""Grading one submission so that student code cannot reach the verdict (issue 8).

The student's notebook never runs where it is judged:

* **In a sandboxed kernel** (:class:`deeptheory.course.remote.StudentKernel` in a
  :class:`deeptheory.course.sandbox.Sandbox`, as an unprivileged user, under resource
  limits): the homework's setup cells, the student's solution cells and any cells the
  student added, in notebook order, each with the per-cell timeout. Locked and test cells
  are taken from the homework's source, never from the submission, so editing or deleting
  them changes nothing (it is noted). Cells after the last test (experiments, widgets) are
  not run: they cannot change a score.
* **In the grader** (this process, which never executes student code): every test cell,
  visible and hidden, from the source, in a fresh namespace holding the setup cells'
  imports, where each function the student defined is a
  :class:`deeptheory.course.remote.RemoteFunction`: arguments go into the kernel and the
  results come back as plain data, and the comparison with the reference (computed here)
  uses this process's untouched ``torch``, ``numpy`` and ``assert``.

A kernel that dies or ignores an interrupt is replaced by a fresh one, which re-runs the
cells that ran before (without the one that killed it), and grading goes on; each such
event is a flag. Before anything runs, the submission is read defensively (size, JSON,
nbformat, which homework it is) and its code is checked statically for what a solution
never needs (file access, dynamic code, introspection, the reference implementation).

:func:`grade_notebook` returns a :class:`Graded` with the scores, the flags and the
notebook for the student's feedback (hidden tests removed); :func:`feedback_html` renders
it.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import functools
import importlib
import io
import json
import os
import re
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deeptheory.course.remote import (
    CallTimeout,
    KernelFailure,
    RemoteFunction,
    StudentKernel,
)
from deeptheory.course.sandbox import (
    Sandbox,
    bubblewrap,
    others_can_run_python,
    student_user,
)

#: Submissions larger than this are not read (a notebook with embedded outputs of this
#: size is not a homework).
SIZE_LIMIT = 64 * 2**20
#: Flags that do not need an instructor: the score is right as it is.
INFORMATIONAL = (
    "output truncated",
    "edited locked cells (restored)",
    "processes left running (killed)",
)
#: Kernel restarts per submission before the remaining cells are given up.
MAX_RESTARTS = 3

HIDDEN_BLOCK = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS[ \t]*\n?", re.S | re.M
)


def needs_review(flags: tuple[str, ...] | list[str]) -> bool:
    """Whether a submission with these flags goes on the manual-review list."""
    return any(not f.startswith(INFORMATIONAL) for f in flags)


# -- the homework, prepared once per run ------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One code cell to run: ``where`` is ``"kernel"`` (setup, solution, the student's
    own cells) or ``"grader"`` (tests); ``grade_id`` None for a cell the student added."""

    where: str
    code: str
    grade_id: str | None
    points: float = 0.0


@dataclass(frozen=True)
class Homework:
    """What grading needs from the source notebook."""

    name: str
    source: Any  # nbformat notebook (instructor version)
    points: dict[str, float]  # graded cell → points, in order
    solutions: tuple[str, ...]  # solution cells' grade ids
    functions: dict[str, tuple[str, ...]]  # solution cell → the names it defines
    references: dict[str, tuple[str, tuple[str, ...]]]  # function → (reference, forbid)
    locked: dict[str, str]  # locked code cell → its release text (hidden tests removed)
    setup: tuple[str, ...]  # code of the locked cells before the first solution cell
    last_graded: int  # index of the last graded cell in source.cells

    @classmethod
    def from_source(cls, name: str, source: Any) -> Homework:
        points, solutions, functions, locked, setup = {}, [], {}, {}, []
        references: dict[str, tuple[str, tuple[str, ...]]] = {}
        last = 0
        for index, cell in enumerate(source.cells):
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if meta.get("grade"):
                points[grade_id] = float(meta.get("points", 0))
                last = index
                references.update(_references(cell.source))
            if cell.cell_type != "code" or grade_id is None:
                continue
            if meta.get("solution"):
                solutions.append(grade_id)
                functions[grade_id] = _defined(cell.source)
            else:
                locked[grade_id] = release_text(cell.source)
                if not solutions and not meta.get("grade"):
                    setup.append(cell.source)
        return cls(
            name=name,
            source=source,
            points=points,
            solutions=tuple(solutions),
            functions=functions,
            references=references,
            locked=locked,
            setup=tuple(setup),
            last_graded=last,
        )

    @property
    def student_names(self) -> tuple[str, ...]:
        return tuple(n for names in self.functions.values() for n in names)


def release_text(code: str) -> str:
    """A test cell as students see it: the hidden tests removed (as nbgrader does)."""
    return HIDDEN_BLOCK.sub("", code)


def hidden_test_lines(source: Any, *, min_length: int = 20) -> set[str]:
    """The substantial lines of a source notebook's hidden tests (stripped, at least
    ``min_length`` characters): what must never appear in a student's feedback. A bare
    dotted name (``deeptheory.ntk.empirical_ntk,``) is left out: the "reference used"
    message names the reference on purpose."""
    lines: set[str] = set()
    for cell in source.cells:
        for block in HIDDEN_BLOCK.findall(cell.source):
            lines |= {line.strip() for line in block.splitlines()}
    return {
        line
        for line in lines
        if len(line) >= min_length and not re.fullmatch(r"[\w.]+,?", line)
    }


def _defined(code: str) -> tuple[str, ...]:
    """Top-level functions, classes and assigned names of a (solution) cell."""
    try:
        tree = ast.parse(_python(code))
    except SyntaxError:
        return ()
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return tuple(names)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _references(code: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """``check_against_reference(student, reference, ..., forbid=[...])`` calls of a test
    cell: student function → (the reference's dotted name, the forbidden names)."""
    try:
        tree = ast.parse(_python(code))
    except SyntaxError:
        return {}
    found = {}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and _dotted(node.func) in ("check_against_reference",)
            and len(node.args) >= 2
        ):
            continue
        student, reference = _dotted(node.args[0]), _dotted(node.args[1])
        forbid: list[str] = []
        for keyword in node.keywords:
            if keyword.arg == "forbid" and isinstance(
                keyword.value, (ast.List, ast.Tuple)
            ):
                forbid += [d for d in map(_dotted, keyword.value.elts) if d]
        if student and reference:
            found[student] = (reference, tuple(forbid))
    return found


def _python(code: str) -> str:
    """Cell code as Python: IPython's magics and shell escapes transformed."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(code)
    except Exception:  # leave it to ast to complain
        return code


# -- reading the submission --------------------------------------------------------------


@dataclass
class Submission:
    """The code of a submission, mapped onto the homework."""

    answers: dict[str, str]  # solution cell → the student's code
    extra: dict[str | None, list[str]]  # cells the student added, after which cell
    flags: list[str] = field(default_factory=list)


class Unreadable(ValueError):
    """The file is not a notebook of this homework; the message is the flag."""


def read_submission(path: Path, homework: Homework) -> Submission:
    """The student's code, or :class:`Unreadable` with the flag.

    Only code is read (outputs are dropped at once). Locked and test cells are compared
    with the release; the release's version is what runs.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > SIZE_LIMIT:
        raise Unreadable(
            f"unreadable notebook (larger than {SIZE_LIMIT // 2**20} MB: {size / 2**20:.0f} MB)"
        )
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        raise Unreadable(f"unreadable notebook (not JSON: {error})") from None
    if not isinstance(data, dict):
        raise Unreadable("unreadable notebook (not a notebook: no top-level object)")
    if data.get("nbformat") != 4:
        raise Unreadable(
            f"unreadable notebook (nbformat {data.get('nbformat')!r}, expected 4)"
        )
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise Unreadable("unreadable notebook (no list of cells)")
    answers: dict[str, str] = {}
    extra: dict[str | None, list[str]] = {}
    seen: dict[str, str] = {}
    foreign = 0
    after: str | None = None
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code = cell.get("source", "")
        if isinstance(code, list):
            code = "".join(str(line) for line in code)
        if not isinstance(code, str):
            continue
        meta = cell.get("metadata")
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
        if grade_id in homework.solutions and grade_id not in answers:
            answers[grade_id] = code
            after = grade_id
        elif grade_id in homework.locked:
            seen.setdefault(grade_id, code)
            after = grade_id
        elif isinstance(grade_id, str) and grade_id:
            foreign += 1  # another homework's cell, or a duplicate: not run
        else:
            extra.setdefault(after, []).append(code)
    if not answers and (foreign or not seen):  # ids like "setup" are everywhere
        raise Unreadable(
            f"wrong homework (no cell of {homework.name}"
            + (f"; {foreign} cells of another homework)" if foreign else ")")
        )
    flags = []
    edited = sorted(
        g for g, text in homework.locked.items() if _norm(seen.get(g)) != _norm(text)
    )
    if edited or foreign:
        flags.append("edited locked cells (restored)")
    missing = [g for g in homework.solutions if g not in answers]
    if missing:
        flags.append(f"missing cells ({', '.join(missing)})")
    return Submission(answers=answers, extra=extra, flags=flags)


def _norm(code: str | None) -> str | None:
    return (
        None
        if code is None
        else "\n".join(ln.rstrip() for ln in code.strip().splitlines())
    )


def program(homework: Homework, submission: Submission) -> list[Step]:
    """The cells to run, in order, up to the last test (cells the student added before
    the homework's first code cell run first, as in their notebook)."""
    steps = [Step("kernel", code, None) for code in submission.extra.get(None, [])]
    for index, cell in enumerate(homework.source.cells):
        if index > homework.last_graded:
            break
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if meta.get("grade"):
            steps.append(
                Step("grader", cell.source, grade_id, homework.points[grade_id])
            )
        elif meta.get("solution"):
            if grade_id in submission.answers:
                steps.append(Step("kernel", submission.answers[grade_id], grade_id))
        else:
            steps.append(Step("kernel", cell.source, grade_id))
        steps += [
            Step("kernel", code, None) for code in submission.extra.get(grade_id, [])
        ]
    return steps


# -- static checks -------------------------------------------------------------------------

#: Names a homework solution never needs: file and process access, dynamic code,
#: introspection, and the grader's own helpers in the kernel.
SUSPICIOUS_NAMES = {
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
    "getattr", "setattr", "delattr", "breakpoint", "input", "get_ipython", "display",
}  # fmt: skip
SUSPICIOUS_MODULES = {
    "os", "sys", "io", "subprocess", "shutil", "pathlib", "glob", "inspect", "importlib",
    "builtins", "ctypes", "socket", "pickle", "marshal", "signal", "threading",
    "multiprocessing", "gc", "types", "code", "codeop", "runpy", "pty", "tempfile",
    "urllib", "http", "requests", "json", "base64", "zlib", "sqlite3", "nbformat",
    "nbgrader", "IPython", "hypothesis", "asyncio", "mmap", "resource", "atexit",
    "tokenize", "linecache", "traceback", "dis", "weakref", "site", "zipimport",
    "operator", "concurrent",
}  # fmt: skip
ALLOWED_DUNDERS = {"__init__", "__name__", "__call__", "__len__", "__getitem__"}


def suspicious(code: str) -> set[str]:
    """What in ``code`` a solution never needs (an empty set for ordinary code)."""
    source = _python(code)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    if "get_ipython()" in source and "get_ipython" not in code:
        found.add("magics or shell commands")
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
    for node in ast.walk(tree):  # assignments into modules: patching torch, numpy, ...
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            dotted = _dotted(target) if isinstance(target, ast.Attribute) else None
            if dotted and dotted.split(".")[0] in imported:
                found.add(f"patches {dotted}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in SUSPICIOUS_NAMES:
            found.add(node.id)
        elif isinstance(node, ast.Name) and node.id.startswith("__deeptheory"):
            found.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for module in modules:
                if module.split(".")[0] in SUSPICIOUS_MODULES:
                    found.add(f"import {module}")
        elif isinstance(node, ast.Attribute) and (
            node.attr.startswith("__") and node.attr not in ALLOWED_DUNDERS
        ):
            found.add(node.attr)
        elif isinstance(node, ast.Attribute) and node.attr in (
            "setprofile", "settrace", "system", "popen", "fork", "kill", "modules",
        ):  # fmt: skip
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "x-deeptheory" in node.value or "/solutions" in node.value:
                text = node.value if len(node.value) <= 60 else node.value[:57] + "..."
                found.add(f"the string {text!r}")
    return found


def references_named(code: str, forbid: tuple[str, ...]) -> set[str]:
    """Dotted names in ``code`` that resolve (in the grader, by attribute lookup on
    imported modules) to a forbidden module or to a function defined in one."""
    try:
        tree = ast.parse(_python(code))
    except SyntaxError:
        return set()
    modules = set()
    for name in forbid:
        target = _resolve(name)
        modules.add(target.__name__ if isinstance(target, types.ModuleType) else name)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):  # star imports from the library first: names to resolve
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if any(a.name == "*" for a in node.names):
                module = _resolve(node.module)
                for name in getattr(module, "__all__", None) or dir(module or object):
                    if not name.startswith("_"):
                        aliases[name] = f"{node.module}.{name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[(a.asname or a.name).split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    found = set()
    for node in ast.walk(tree):
        dotted = _dotted(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
        if not dotted:
            continue
        head, _, rest = dotted.partition(".")
        if head not in aliases:
            continue
        full = aliases[head] + (f".{rest}" if rest else "")
        target = _resolve(full)
        module = (
            target.__name__
            if isinstance(target, types.ModuleType)
            else getattr(target, "__module__", None)
        )
        if module in modules or full in modules:
            found.add(full)
    return found


def _resolve(dotted: str) -> Any:
    """The object a dotted name of the deeptheory package names, or None (only
    ``deeptheory`` is imported; nothing is called)."""
    parts = dotted.split(".")
    if parts[0] != "deeptheory":
        return None
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute, None)
        return target
    return None


def _tokens(code: str) -> list[str]:
    """Token stream of ``code`` with names, numbers, strings and comments abstracted."""
    import keyword
    import tokenize

    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
                continue
            if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
                out.append("N")
            elif tok.type == tokenize.STRING:
                out.append("S")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return out


def _function_body(code: str, name: str) -> str | None:
    """The source of the body of function ``name`` in ``code``, docstring removed."""
    try:
        tree = ast.parse(_python(code))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name == name
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
            ):
                body = body[1:]
            return "\n".join(ast.unparse(b) for b in body)
    return None


@functools.lru_cache(maxsize=64)
def _reference_body(reference: str) -> tuple[str, ...]:
    """Token stream of the body of the library function named ``reference`` (empty if
    it cannot be read); computed once per grading worker."""
    import inspect

    target = _resolve(reference)
    if not callable(target):
        return ()
    try:
        code = inspect.getsource(inspect.unwrap(target))
    except (OSError, TypeError):
        return ()
    body = _function_body(code, getattr(target, "__name__", ""))
    return tuple(_tokens(body)) if body else ()


def copied(
    student_code: str, name: str, reference: str, *, threshold: float = 0.9
) -> bool:
    """Whether the student's function ``name`` is the reference's source with names
    changed: token streams (names abstracted) at least ``threshold`` alike. References
    shorter than 60 tokens are not compared (short answers look alike anyway)."""
    a = _reference_body(reference)
    mine = _function_body(student_code, name)
    if len(a) < 60 or not mine:
        return False
    b = _tokens(mine)
    if not b:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


@functools.lru_cache(maxsize=64)
def _library_blocks(names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Token streams of every function and class of the modules (or of the functions)
    named, at least 60 tokens long: what a student could paste."""
    import inspect

    found = []
    for name in names:
        target = _resolve(name)
        try:
            code = inspect.getsource(target) if target is not None else ""
        except (OSError, TypeError):
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        if isinstance(target, types.ModuleType):
            nodes = [
                n
                for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            ]
        else:  # a function: itself, as a whole
            nodes = tree.body[:1]
        for node in nodes:
            tokens = _tokens(ast.unparse(node))
            module = isinstance(target, types.ModuleType)
            qualname = f"{name}.{node.name}" if module else name
            if len(tokens) >= 60 and qualname not in dict(found):
                found.append((qualname, tuple(tokens)))
    return tuple(found)


def pasted(code: str, names: tuple[str, ...], *, share: float = 0.8) -> list[str]:
    """Library functions or classes (of the modules or functions ``names``) of which
    at least ``share`` of the token stream (names abstracted) appears in ``code`` in runs
    of 12 tokens or more: code pasted from the library, renamed or not, nested or not."""
    mine = _tokens(_python(code))
    if not mine:
        return []
    found = []
    for qualname, tokens in _library_blocks(names):
        matcher = difflib.SequenceMatcher(None, tokens, mine, autojunk=False)
        covered = sum(b.size for b in matcher.get_matching_blocks() if b.size >= 12)
        if covered >= share * len(tokens):
            found.append(qualname)
    return found


def static_flags(homework: Homework, submission: Submission) -> list[str]:
    """Flags from reading the student's code, before anything runs."""
    flags, odd = [], set()
    codes = list(submission.answers.items()) + [
        (None, c) for cells in submission.extra.values() for c in cells
    ]
    used = set()
    for grade_id, code in codes:
        odd |= suspicious(code)
        for name in homework.functions.get(grade_id, ()) if grade_id else ():
            reference, forbid = homework.references.get(name, (None, ()))
            used |= references_named(code, forbid)
            from_library = pasted(code, (*forbid, *([reference] if reference else [])))
            if from_library or (reference and copied(code, name, reference)):
                where = (
                    f" from {', '.join(sorted(set(from_library)))}"
                    if from_library
                    else ""
                )
                flags.append(f"copied reference ({name}{where})")
    if used:  # at run time the tripwire decides whether it was called
        flags.append(f"reference in code ({', '.join(sorted(used))})")
    if odd:
        flags.append(f"suspicious code ({', '.join(sorted(odd))})")
    return flags


# -- running -------------------------------------------------------------------------------


@dataclass
class Graded:
    """The outcome of one submission."""

    cells: dict[str, float]  # graded cell → points scored
    flags: list[str]
    outputs: dict[int, list[dict[str, Any]]]  # step index → nbformat outputs
    steps: list[Step]
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(self.cells.values())


class _Session:
    """A kernel for the submission, restarted (and the earlier cells re-run) when it
    dies or hangs; each such event adds its reason to ``flags``."""

    def __init__(
        self,
        scratch: Path,
        options: dict[str, Any],
        flags: list[str],
        *,
        cell_timeout: float,
    ):
        self.scratch, self.options, self.flags = scratch, options, flags
        self.cell_timeout = cell_timeout
        self.kernel: StudentKernel | None = None
        # kernel cells that finished (not the fatal ones, nor those interrupted)
        self.history: list[str] = []
        self.restarts = 0
        self.baseline: set[int] = set()
        self.broken: str | None = None

    def start(self) -> None:
        self.kernel = StudentKernel(self.scratch, **self.options)
        self.kernel.start()
        self.baseline = self.kernel.processes()

    def failed(self, reason: str) -> None:
        """The kernel is gone: note it, start another and re-run the history."""
        _add(self.flags, reason)
        self.close()
        while self.restarts < MAX_RESTARTS:
            self.restarts += 1
            try:
                self.start()
                for code in self.history:
                    self.kernel.execute(code, timeout=self.cell_timeout)  # type: ignore[union-attr]
                return
            except KernelFailure as again:
                _add(self.flags, again.reason)
                self.close()
        self.broken = reason

    def leftover(self) -> bool:
        """Whether processes beyond the kernel's own are running in the sandbox."""
        if self.kernel is None:
            return False
        return bool(self.kernel.processes() - self.baseline)

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None


class _NoIPython:
    """``get_ipython()`` of the grader's test namespace: tests call
    ``get_ipython().InteractiveTB.set_mode(...)``, which means nothing here."""

    class InteractiveTB:
        @staticmethod
        def set_mode(mode: str = "") -> None:
            return None


def grade_notebook(
    homework: Homework,
    path: Path,
    scratch: Path,
    *,
    cell_timeout: float = 30.0,
    hide: tuple[Path, ...] = (),
    sandboxed: bool | None = None,
    memory: int | None = 4 * 2**30,
    processes: int | None = 64,
    output_limit: int = 2_000_000,
    slot: int = 0,
) -> Graded:
    """Grade the notebook at ``path``; the kernel works in ``scratch`` (created).

    Args:
      homework: the prepared homework.
      path: the submitted notebook (only read).
      scratch: an empty folder for this submission.
      cell_timeout: seconds per cell (kernel cells) and per test cell (all the calls it
        makes to the student's functions together).
      hide: folders the kernel must not see (solutions, grades, submissions).
      sandboxed: use bubblewrap; default: when it works here.
      memory, processes, output_limit: limits of the kernel (address space in bytes,
        processes of its user, characters of output per cell).
      slot: the grading worker's index: its kernels run as a user of their own
        (:func:`deeptheory.course.sandbox.student_user`) when grading as root.

    Raises:
      Unreadable: the file is not a notebook of this homework (the message is the flag).
    """
    start = time.perf_counter()
    submission = read_submission(path, homework)
    flags = list(submission.flags) + static_flags(homework, submission)
    steps = program(homework, submission)
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    use_bwrap = bubblewrap() is not None if sandboxed is None else sandboxed
    as_nobody = os.geteuid() == 0 and (use_bwrap or others_can_run_python())

    options: dict[str, Any] = dict(
        memory=memory,
        cpu=int(cell_timeout * (len(steps) + 2) + 120),
        processes=processes if as_nobody else None,
        file_size=64 * 2**20,
        output_limit=output_limit,
        user=student_user(slot) if as_nobody else None,
        sandbox=Sandbox(scratch, hide=tuple(hide)) if use_bwrap else None,
    )
    session = _Session(scratch, options, flags, cell_timeout=cell_timeout)
    cells = dict.fromkeys(homework.points, 0.0)
    outputs: dict[int, list[dict[str, Any]]] = {}
    try:
        try:
            session.start()
        except KernelFailure as error:
            flags.append(error.reason)
            session.broken = error.reason
        names = homework.student_names
        namespace: dict[str, Any] = {"get_ipython": _NoIPython, "__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()):
            for code in homework.setup:  # the instructor's imports, for the tests
                exec(compile(code, "<setup>", "exec"), namespace)
        for index, step in enumerate(steps):
            if session.broken:
                outputs[index] = [_error_output("NotGraded", session.broken)]
                continue
            if step.where == "kernel":
                outputs[index] = _run_kernel_cell(session, step, cell_timeout, flags)
            else:
                passed, outputs[index] = _run_test_cell(
                    session, step, names, namespace, cell_timeout, flags
                )
                if passed:
                    cells[step.grade_id] = step.points  # type: ignore[index]
        if session.leftover():
            flags.append("processes left running (killed)")
    finally:
        session.close()
    order = [f for f in dict.fromkeys(flags)]
    return Graded(
        cells=cells,
        flags=order,
        outputs=outputs,
        steps=steps,
        seconds=time.perf_counter() - start,
    )


def _run_kernel_cell(
    session: _Session, step: Step, timeout: float, flags: list[str]
) -> list[dict[str, Any]]:
    try:
        run = session.kernel.execute(step.code, timeout=timeout)  # type: ignore[union-attr]
    except KernelFailure as error:
        session.failed(error.reason)
        return [
            _error_output("KernelFailure", f"{error.reason}: this cell was not run")
        ]
    if not run.timed_out:
        session.history.append(step.code)
    if run.error is not None and _out_of_memory(*run.error):
        _add(flags, "memory limit")
    if run.timed_out:
        _add(flags, "timeout")
    if run.truncated:
        _add(flags, "output truncated")
    outputs = run.outputs
    if run.truncated:
        outputs = [
            *outputs,
            {"output_type": "stream", "name": "stderr", "text": "(output truncated)\n"},
        ]
    return outputs


def _run_test_cell(
    session: _Session,
    step: Step,
    names: tuple[str, ...],
    namespace: dict[str, Any],
    timeout: float,
    flags: list[str],
) -> tuple[bool, list[dict[str, Any]]]:
    """Run a test cell here, the student's functions as proxies; (passed, outputs)."""
    deadline = time.monotonic() + timeout
    sink = io.StringIO()
    hidden = "### BEGIN HIDDEN TESTS" in step.code
    try:
        kinds = session.kernel.kinds(names, timeout=timeout)  # type: ignore[union-attr]
    except KernelFailure as error:
        session.failed(error.reason)
        return False, [_error_output("KernelFailure", error.reason)]
    for name in names:
        namespace.pop(name, None)
    for name, kind in kinds.items():
        if kind == "function":
            namespace[name] = RemoteFunction(
                session.kernel,  # type: ignore[arg-type]
                name,
                timeout=lambda: deadline - time.monotonic(),
            )
    passed = False
    error_output = None
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            exec(compile(step.code, f"<test {step.grade_id}>", "exec"), namespace)
            passed = True
        except KernelFailure as error:
            error_output = _error_output("KernelFailure", error.reason)
            session.failed(error.reason)
        except CallTimeout as error:
            _add(flags, "timeout")
            error_output = _error_output("TimeoutError", str(error))
        except Exception as error:
            error_output = _test_error(error, hidden=hidden)
            if _out_of_memory(type(error).__name__, str(error)):
                _add(flags, "memory limit")
            if type(error).__name__ == "ReferenceUsed":
                if not any(f.startswith("reference used") for f in flags):
                    flags.append("reference used")
            elif type(error).__name__ == "Tampering":
                _add(flags, "tampering")
    text = sink.getvalue()
    outputs = []
    if text and not hidden:
        outputs.append(
            {"output_type": "stream", "name": "stdout", "text": text[:20000]}
        )
    if error_output is not None:
        outputs.append(error_output)
    return passed, outputs


def _out_of_memory(ename: str, evalue: str) -> bool:
    """Whether an error is the kernel's address-space limit (Python's or torch's)."""
    text = f"{ename}: {evalue}"
    return (
        "MemoryError" in text
        or "can't allocate memory" in text
        or ("out of memory" in text.lower())
    )


def _add(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)


def _error_output(ename: str, evalue: str) -> dict[str, Any]:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [f"{ename}: {evalue}"],
    }


def _test_error(error: BaseException, *, hidden: bool) -> dict[str, Any]:
    """The error of a test cell as the student sees it: for a visible test the lines of
    the test that failed; for a hidden one only the message."""
    ename, evalue = type(error).__name__, str(error)
    lines = [f"{ename}: {evalue}"]
    if not hidden:
        frames = [
            f
            for f in traceback.extract_tb(error.__traceback__)
            if f.filename.startswith("<test")
        ]
        lines = [f"line {f.lineno}: {f.line}" for f in frames if f.line] + lines
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": lines,
    }


# -- feedback ------------------------------------------------------------------------------


def feedback_notebook(homework: Homework, graded: Graded, student: str) -> Any:
    """The student's notebook as graded: their code and its outputs, the tests as
    released (hidden tests removed) with their outcome and points, flags on top."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = copy.deepcopy(homework.source.metadata)
    total = sum(homework.points.values())
    lines = [
        f"# {homework.name}: feedback for {student}",
        "",
        f"**Score: {graded.score:g} / {total:g}**",
        "",
    ]
    if graded.flags:
        lines += (
            ["Notes from the grader:", ""] + [f"- {f}" for f in graded.flags] + [""]
        )
    lines += ["| test | points |", "|---|---|"]
    lines += [
        f"| {g} | {graded.cells.get(g, 0):g} / {p:g} |"
        for g, p in homework.points.items()
    ]
    nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
    by_id = {s.grade_id: i for i, s in enumerate(graded.steps) if s.grade_id}
    extra_after: dict[str | None, list[int]] = {}
    previous: str | None = None
    for i, step in enumerate(graded.steps):
        if step.grade_id is None:
            extra_after.setdefault(previous, []).append(i)
        else:
            previous = step.grade_id

    def add_extra(after: str | None) -> None:
        for j in extra_after.get(after, []):
            extra = nbformat.v4.new_code_cell(graded.steps[j].code)
            extra.outputs = [nbformat.from_dict(o) for o in graded.outputs.get(j, [])]
            nb.cells.append(extra)

    add_extra(None)  # the cells the student put before the homework's first code cell
    for cell in homework.source.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if cell.cell_type == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source))
            continue
        index = by_id.get(grade_id)
        code = graded.steps[index].code if index is not None else cell.source
        if meta.get("grade"):
            code = release_text(code)
        elif meta.get("solution") and index is None:
            code = "# (this cell was missing from your notebook)"
        new = nbformat.v4.new_code_cell(code)
        new.outputs = [nbformat.from_dict(o) for o in graded.outputs.get(index, [])]
        if meta.get("grade"):
            got, worth = graded.cells.get(grade_id, 0.0), homework.points[grade_id]
            new.outputs.append(
                nbformat.from_dict(
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": f"points: {got:g} / {worth:g}\n",
                    }
                )
            )
        nb.cells.append(new)
        add_extra(grade_id)
    return nb


def feedback_html(notebook: Any) -> str:
    """A feedback notebook as a standalone HTML page."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="classic").from_notebook_node(notebook)
    return body
