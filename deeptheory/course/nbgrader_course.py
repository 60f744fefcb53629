"""A throw-away nbgrader course directory, configured from Python.

nbgrader facts this relies on (shared/teaching.md §2–3): the API needs the environment's
``bin`` on PATH (gradebook creation shells out to ``alembic``); ``validate``'s exit code
means nothing, so scores come from the gradebook; the kernel is pinned to ``python3``;
``.hypothesis`` must not be copied around as a "supporting file".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def nbgrader_config(root: Path, *, timeout: int = 60, database: bool = True):
    """A traitlets Config for a course rooted at ``root``."""
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "deeptheory"
    c.CourseDirectory.ignore = [
        ".ipynb_checkpoints",
        "*.pyc",
        "__pycache__",
        ".hypothesis",
    ]
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    c.Execute.timeout = timeout
    c.Execute.kernel_name = "python3"
    c.Execute.startup_timeout = 120
    c.OverwriteCells.add_missing_cells = True
    if not database:
        c.GenerateAssignment.no_database = True
        c.SaveCells.enabled = False
    return c


def prepare_environment(scratch: Path) -> None:
    """PATH with this Python's bin (alembic), hypothesis storage outside the course."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(scratch / "hypothesis"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("JUPYTER_CONFIG_DIR", str(scratch / "jupyter_config"))
