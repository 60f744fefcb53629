"""The secure grading engine's parts (deeptheory.course.secure, sandbox, plain.mirror):
reading submissions defensively, the static checks, mirroring a call's effect on its
arguments, and the sandbox itself (a kernel that cannot see or write the grader's files,
has no network, runs as nobody, and leaves no process behind)."""

import json
import os
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from deeptheory.course import plain
from deeptheory.course.build import source_notebook
from deeptheory.course.remote import StudentKernel
from deeptheory.course.sandbox import NOBODY, Sandbox, bubblewrap
from deeptheory.course.secure import (
    Homework,
    Unreadable,
    copied,
    needs_review,
    program,
    read_submission,
    references_named,
    release_text,
    suspicious,
)

ROOT = Path(__file__).resolve().parent.parent
NAME = "hw1_ntk"


@pytest.fixture(scope="module")
def homework():
    source = source_notebook(ROOT / "solutions" / NAME / f"{NAME}.py")
    return Homework.from_source(NAME, source)


def test_the_homework_is_read_from_its_source(homework):
    assert sum(homework.points.values()) == 14
    assert homework.solutions[0] == "one_hidden_layer_ntk"
    assert homework.functions["relu_ntk"] == ("relu_ntk",)
    reference, forbid = homework.references["one_hidden_layer_ntk"]
    assert reference == "deeptheory.ntk.empirical_ntk"
    assert "deeptheory.ntk" in forbid
    assert all("BEGIN HIDDEN" not in t for t in homework.locked.values())
    assert any("import torch" in code for code in homework.setup)


def test_release_text_removes_only_the_hidden_block():
    cell = "x = 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\ny = 2\n"
    assert release_text(cell) == "x = 1\ny = 2\n"


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_unreadable_and_foreign_notebooks_get_their_flag(tmp_path, homework):
    cases = {
        "truncated": ('{"cells": [', "not JSON"),
        "list": ("[]", "no top-level object"),
        "v3": ({"nbformat": 3, "worksheets": []}, "nbformat 3, expected 4"),
        "nocells": ({"nbformat": 4, "metadata": {}}, "no list of cells"),
        "empty": ({"nbformat": 4, "cells": []}, "wrong homework"),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(Unreadable, match=reason):
            read_submission(write(tmp_path, f"{name}.ipynb", data), homework)
    other = nbformat.read(ROOT / "exercises" / "hw2_lazy_feature.ipynb", as_version=4)
    nbformat.write(other, tmp_path / "hw2.ipynb")
    with pytest.raises(
        Unreadable, match=r"wrong homework \(no cell of hw1_ntk; \d+ cells"
    ):
        read_submission(tmp_path / "hw2.ipynb", homework)


def test_a_huge_file_is_not_read(tmp_path, homework, monkeypatch):
    import deeptheory.course.secure as secure

    monkeypatch.setattr(secure, "SIZE_LIMIT", 1000)
    path = write(tmp_path, "big.ipynb", {"nbformat": 4, "cells": [], "x": "a" * 2000})
    with pytest.raises(Unreadable, match="larger than"):
        read_submission(path, homework)


def test_edited_and_missing_cells_are_noted_and_the_release_is_what_runs(
    tmp_path, homework
):
    release = nbformat.read(ROOT / "exercises" / f"{NAME}.ipynb", as_version=4)
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "one_hidden_layer_ntk_visible":
            cell.source = "pass"  # a test emptied
    release.cells = [
        c
        for c in release.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") != "relu_ntk"
    ]
    nbformat.write(release, tmp_path / "edited.ipynb")
    got = read_submission(tmp_path / "edited.ipynb", homework)
    assert got.flags == ["edited locked cells (restored)", "missing cells (relu_ntk)"]
    assert needs_review(got.flags)  # the missing cell, not the restored edit
    assert not needs_review(["edited locked cells (restored)", "output truncated"])


def test_the_students_own_cells_run_where_they_put_them(tmp_path, homework):
    release = nbformat.read(ROOT / "exercises" / f"{NAME}.ipynb", as_version=4)
    first_code = next(i for i, c in enumerate(release.cells) if c.cell_type == "code")
    release.cells.insert(first_code, nbformat.v4.new_code_cell("HELPER = 1"))
    at = next(
        i
        for i, c in enumerate(release.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == "relu_ntk"
    )
    release.cells.insert(at + 1, nbformat.v4.new_code_cell("CHECK = relu_ntk"))
    nbformat.write(release, tmp_path / "own.ipynb")
    steps = program(homework, read_submission(tmp_path / "own.ipynb", homework))
    codes = [s.code for s in steps]
    assert codes[0] == "HELPER = 1"  # before the setup cell, as in the notebook
    relu = next(i for i, s in enumerate(steps) if s.grade_id == "relu_ntk")
    assert codes[relu + 1] == "CHECK = relu_ntk" and steps[relu + 1].where == "kernel"
    assert steps[relu + 2].grade_id == "relu_ntk_visible"
    assert all(s.where == "grader" for s in steps if s.grade_id in homework.points)
    assert steps[-1].grade_id == "width_exponent_hidden"  # nothing after the last test


def test_the_static_check_names_what_a_solution_never_needs():
    assert suspicious("def f(x):\n    return x @ x.T\nimport math") == set()
    found = suspicious(
        "import inspect, os\nopen('/etc/passwd')\nexec('1')\n"
        "torch.testing.assert_close = None\nx.__class__\n!ls\n"
    )
    assert {"import inspect", "import os", "open", "exec", "__class__"} <= found
    assert "patches torch.testing.assert_close" not in found  # torch not imported here
    assert "magics or shell commands" in found
    assert "patches torch.testing.assert_close" in suspicious(
        "import torch\ntorch.testing.assert_close = None"
    )
    assert suspicious("def broken(:\n") == set()  # a syntax error is the runtime's


def test_reference_names_are_resolved_against_the_forbidden_modules():
    forbid = ("deeptheory.ntk", "deeptheory.ntk_fc")
    direct = "from deeptheory.ntk import empirical_ntk\nempirical_ntk(a, b, c, d)"
    assert references_named(direct, forbid) == {"deeptheory.ntk.empirical_ntk"}
    # the top-level re-export is the same function, defined in deeptheory.ntk
    again = "import deeptheory as dt\ndt.empirical_ntk(a, b, c, d)"
    assert references_named(again, forbid) == {"deeptheory.empirical_ntk"}
    allowed = "import deeptheory\ndeeptheory.fc_kernels(x, x)\nFCNet(input_dim=2)"
    assert references_named(allowed, forbid) == set()


def test_a_copied_reference_is_recognised_and_an_own_solution_is_not():
    import inspect

    from deeptheory.experiments import ntk_convergence

    body = inspect.getsource(ntk_convergence.ntk_relative_errors)
    renamed = body.replace("ntk_relative_errors", "mine").replace("limit", "lim")
    assert copied(
        renamed, "mine", "deeptheory.experiments.ntk_convergence.ntk_relative_errors"
    )
    own = (
        "def mine(x1, x2, *, widths, ensemble, hidden_layers, bias_std, generator):\n"
        "    rows = []\n"
        "    for h in widths:\n"
        "        rows.append(torch.zeros(ensemble))\n"
        "    return torch.stack(rows)\n"
    )
    assert not copied(
        own, "mine", "deeptheory.experiments.ntk_convergence.ntk_relative_errors"
    )


def test_mirror_applies_a_calls_effect_on_its_arguments():
    g = torch.Generator().manual_seed(0)
    t = torch.zeros(3, dtype=torch.float64)
    a = np.zeros(2)
    params = {"w": torch.ones(2), "gone": 1}
    original = [g, t, a, params, (torch.zeros(1),), [1, 2]]
    # what the kernel's copies look like after the call
    g2 = torch.Generator().manual_seed(0)
    torch.randn(5, generator=g2)
    after = [
        g2,
        torch.arange(3.0, dtype=torch.float64),
        np.ones(2),
        {"w": torch.full((2,), 7.0), "new": "x"},
        (torch.ones(1),),
        [1, 2, 3],
    ]
    plain.mirror(original, after)
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=g2))
    assert torch.equal(t, torch.arange(3.0, dtype=torch.float64))
    assert (a == 1).all() and params == {"w": params["w"], "new": "x"}
    assert torch.equal(params["w"], torch.full((2,), 7.0))
    assert torch.equal(original[4][0], torch.ones(1)) and original[5] == [1, 2, 3]
    # an expanded input (elements sharing memory) is left alone when untouched
    wide = torch.ones(3, 1).expand(3, 4)
    plain.mirror([wide], [wide.clone()])
    assert wide.stride() == (1, 0)


needs_bwrap = pytest.mark.skipif(
    bubblewrap() is None or os.geteuid() != 0,
    reason="needs a working bwrap and root (make test installs bubblewrap; CI is root)",
)


@needs_bwrap
def test_the_sandbox_hides_the_graders_files_and_kills_what_the_kernel_left(tmp_path):
    secret = tmp_path / "grades"
    secret.mkdir()
    (secret / "gradebook.csv").write_text("alice,14\n")
    scratch = tmp_path / "work" / "bob"
    scratch.mkdir(parents=True)
    os.chmod(tmp_path / "work", 0o711)
    sandbox = Sandbox(scratch, hide=(secret,))
    with StudentKernel(scratch, sandbox=sandbox, user=NOBODY, processes=64) as kernel:
        probe = kernel.execute(
            "import os, socket, subprocess\n"
            f"print(os.getuid(), sorted(os.listdir({str(secret)!r})))\n"
            "for path in ('/etc/hostname.deeptheory', os.path.expanduser('~/../x')):\n"
            "    try:\n"
            "        open(path, 'w')\n"
            "        print('wrote', path)\n"
            "    except OSError as e:\n"
            "        print('refused', type(e).__name__)\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
            "    print('network')\n"
            "except OSError:\n"
            "    print('no network')\n"
            "subprocess.Popen(['sleep', '876.5'], start_new_session=True)\n"
            "open('mine.txt', 'w').write('ok')\n",
            timeout=60,
        )
        text = "".join(o.get("text", "") for o in probe.outputs)
        assert probe.ok, probe
        assert f"{NOBODY} []" in text  # nobody, and the grades folder is empty
        assert text.count("refused") == 2 and "wrote" not in text
        assert "no network" in text
        assert (scratch / "mine.txt").read_text() == "ok"
        assert len(kernel.processes()) > 3  # the sleep is running in the sandbox
    time.sleep(1)
    alive = [
        p
        for p in Path("/proc").glob("[0-9]*")
        if (p / "cmdline").exists() and b"876.5" in (p / "cmdline").read_bytes()
    ]
    assert not alive, "a process started in the sandbox outlived it"
    assert (secret / "gradebook.csv").read_text() == "alice,14\n"


def test_a_function_that_writes_into_its_input_is_caught_across_the_boundary(tmp_path):
    """HW2's visible test asserts the initial parameters are untouched: a student's
    gradient descent that updates them in place (no clone) fails it in the secure engine
    too, because what the call did to its arguments is mirrored onto the grader's."""
    from deeptheory.course.build import build_homework
    from deeptheory.course.check import filled, solution_answers
    from deeptheory.course.secure import grade_notebook

    name = "hw2_lazy_feature"
    source = source_notebook(ROOT / "solutions" / name / f"{name}.py")
    release = nbformat.read(
        build_homework(name, ROOT / "solutions", tmp_path), as_version=4
    )
    answer = solution_answers(source)["gradient_descent"]
    clone = "v.detach().clone().requires_grad_(True)"
    assert clone in answer
    in_place = answer.replace(clone, "v.detach().requires_grad_(True)")
    nbformat.write(
        filled(release, source, {"gradient_descent": in_place}), tmp_path / "s.ipynb"
    )
    os.chmod(tmp_path, 0o711)
    graded = grade_notebook(
        Homework.from_source(name, source),
        tmp_path / "s.ipynb",
        tmp_path / "kernel",
        cell_timeout=60,
    )
    assert graded.cells["gradient_descent_visible"] == 0
    assert graded.cells["gradient_descent_hidden"] > 0  # the values are right
    errors = [
        o["evalue"] for outs in graded.outputs.values() for o in outs if "evalue" in o
    ]
    assert "do not modify the initial parameters" in errors
