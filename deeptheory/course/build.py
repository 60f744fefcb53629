"""``deeptheory course build``: solutions/<hw>/<hw>.py → exercises/<hw>.ipynb.

The source is a jupytext percent script carrying nbgrader cell metadata. It is converted
to a notebook with kernelspec ``python3`` and deterministic cell ids (jupytext would make
random ones), then released by ``nbgrader generate_assignment`` in a throw-away course
directory, so that building twice gives byte-identical exercises and a stale exercise is
a plain file difference.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def homeworks(solutions: Path) -> list[str]:
    """Names of the homework in ``solutions/`` (folders holding ``<name>/<name>.py``)."""
    return sorted(
        p.parent.name for p in solutions.glob("*/*.py") if p.stem == p.parent.name
    )


def source_notebook(script: Path):
    """The instructor notebook of a jupytext percent script, with stable cell ids."""
    import jupytext

    nb = jupytext.read(script)
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        digest = hashlib.sha1(f"{script.stem}:{index}".encode()).hexdigest()[:8]
        cell.id = grade_id or f"cell-{digest}"
    return nb


def build_homework(name: str, solutions: Path, exercises: Path) -> Path:
    """Release one homework; returns the path of the student notebook."""
    import nbformat
    from nbgrader.apps import NbGraderAPI

    from deeptheory.course.nbgrader_course import nbgrader_config, prepare_environment

    with tempfile.TemporaryDirectory(prefix="deeptheory-build-") as tmp:
        root = Path(tmp)
        prepare_environment(root)
        source = root / "source" / name
        source.mkdir(parents=True)
        nbformat.write(
            source_notebook(solutions / name / f"{name}.py"), source / f"{name}.ipynb"
        )
        api = NbGraderAPI(config=nbgrader_config(root, database=False))
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not release {name}:\n{result['log']}")
        released = root / "release" / name / f"{name}.ipynb"
        exercises.mkdir(parents=True, exist_ok=True)
        target = exercises / f"{name}.ipynb"
        shutil.copyfile(released, target)
    return target


def build(root: Path) -> list[Path]:
    """Release every homework of ``root/solutions`` into ``root/exercises``."""
    solutions = root / "solutions"
    names = homeworks(solutions)
    if not names:
        raise FileNotFoundError(
            f"no homework found in {solutions} (expected <hw>/<hw>.py)"
        )
    return [build_homework(name, solutions, root / "exercises") for name in names]
