"""Checkpoint folders, written atomically: a checkpoint is complete under its name or absent.

Layout: ``<root>/step_<steps, 12 digits>/`` holding whatever the trainer saves
plus ``state.json``. A checkpoint is written into a hidden temporary folder and
renamed into place, so a run killed at any moment (even with SIGKILL) leaves
only complete checkpoints; leftovers of an interrupted write are removed on
the next start.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

PREFIX = "step_"


def save_checkpoint(root: Path, steps: int, state: dict[str, Any], write: Callable[[Path], None],
                    keep: int = 2) -> Path:
    """Write the checkpoint of ``steps``: ``write(folder)`` saves the trainer, ``state`` goes to
    state.json; then rename into place and delete all but the newest ``keep`` checkpoints."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{steps:012d}"
    temporary = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}."))
    try:
        write(temporary)
        (temporary / "state.json").write_text(json.dumps(state, indent=1))
        for path in temporary.iterdir():
            with open(path, "rb") as file:
                os.fsync(file.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    for old in checkpoints(root)[:-keep]:
        shutil.rmtree(old)
    return final


def checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first."""
    if not root.is_dir():
        return []
    return sorted(path for path in root.iterdir() if path.is_dir() and path.name.startswith(PREFIX))


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint, after removing leftovers of interrupted writes."""
    if root.is_dir():
        for leftover in root.glob(f".{PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
    found = checkpoints(root)
    return found[-1] if found else None


def read_state(checkpoint: Path) -> dict[str, Any]:
    """The ``state.json`` of a checkpoint."""
    return json.loads((checkpoint / "state.json").read_text())
