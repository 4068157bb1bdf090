"""Checkpoint folders, written atomically and durably: a checkpoint is complete under its name or absent.

Layout: ``<root>/step_<steps, 12 digits>/`` holding whatever the trainer saves
plus ``state.json``. A checkpoint is written into a hidden temporary folder,
flushed to disk and renamed into place (:func:`execgym.atomic.replace_durably`),
so a run killed at any moment (even with SIGKILL) leaves only complete
checkpoints; leftovers of an interrupted write are removed on the next start.
A checkpoint damaged afterwards (a truncated file) is detected when it is
loaded: :func:`restore_latest` then falls back to the previous one.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

from execgym.atomic import fsync_path, replace_durably
from execgym.experiments.files import CorruptFile, json_text, read_json

PREFIX = "step_"
STATE_KEYS = ("steps", "curve", "wall_seconds")
T = TypeVar("T")


def save_checkpoint(root: Path, steps: int, state: dict[str, Any], write: Callable[[Path], None],
                    keep: int = 2) -> Path:
    """Write the checkpoint of ``steps``: ``write(folder)`` saves the trainer, ``state`` goes to
    state.json; then rename into place and delete all but the newest ``keep`` checkpoints."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{steps:012d}"
    temporary = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}."))
    try:
        write(temporary)
        (temporary / "state.json").write_text(json_text(state))
        for path in [*temporary.iterdir(), temporary]:
            fsync_path(path)
        if final.exists():
            shutil.rmtree(final)
        replace_durably(temporary, final)
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


def remove_leftovers(root: Path) -> None:
    """Delete the temporary folders of interrupted :func:`save_checkpoint` calls under ``root``."""
    if root.is_dir():
        for leftover in root.glob(f".{PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def restore_latest(root: Path, load: Callable[[Path], T], warn: Callable[[str], None]) -> tuple[Path, T] | None:
    """(checkpoint, ``load(checkpoint)``) for the newest checkpoint under ``root`` that loads; one that raises
    :class:`CorruptFile` is reported through ``warn`` and the previous one tried. None where ``root`` holds
    no checkpoint; :class:`CorruptFile` naming each one where none loads. It only reads (a run still writing
    its next checkpoint is left alone): the run itself removes its leftovers (:func:`remove_leftovers`)."""
    errors = []
    for checkpoint in reversed(checkpoints(root)):
        try:
            return checkpoint, load(checkpoint)
        except CorruptFile as error:
            errors.append(str(error))
            warn(f"checkpoint {checkpoint} is unusable: {error}; trying the previous one")
    if errors:
        raise CorruptFile(f"no usable checkpoint in {root}: " + "; ".join(errors))
    return None


def read_state(checkpoint: Path) -> dict[str, Any]:
    """The ``state.json`` of a checkpoint (:class:`CorruptFile` if it does not read back)."""
    return read_json(checkpoint / "state.json", STATE_KEYS)
