"""Run files: durable atomic output, strict JSON, and reading back with errors that name the file.

A file is written atomically (:mod:`execgym.atomic`): to a temporary
``.<name>.<random>.tmp`` beside it, flushed to disk, renamed over its name, so a
finished file survives a kill or a power loss complete under its name, or is
absent. A write interrupted before its rename leaves only the temporary, which
:func:`remove_stale_temporaries` deletes when the run starts again.

JSON is strict (RFC 8259: no ``NaN`` or ``Infinity``): :func:`json_text` writes
an undefined number as ``null`` with a ``<key>_note`` saying why.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from execgym.atomic import TEMPORARY_SUFFIX, write_text_atomically

T = TypeVar("T")


class CorruptFile(ValueError):
    """A run's file that does not read back (truncated, unparsable, or missing keys); the message names it."""


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries of interrupted :func:`~execgym.atomic.write_atomically` calls in ``folder`` (not below it);
    returns them."""
    folder = Path(folder)
    stale = [path for path in folder.glob(f".*{TEMPORARY_SUFFIX}") if path.is_file()] if folder.is_dir() else []
    for path in stale:
        path.unlink()
    return stale


def strict_data(data: Any) -> Any:
    """``data`` with every non-finite float replaced by None; in a mapping, ``<key>_note`` then says why
    (unless the mapping already has one)."""
    if isinstance(data, dict):
        strict = {}
        for key, value in data.items():
            strict[key] = strict_data(value)
            note = f"{key}_note"
            if isinstance(value, float) and not math.isfinite(value) and note not in data:
                strict[note] = "undefined (not a number)" if math.isnan(value) else f"{value} (infinite)"
        return strict
    if isinstance(data, (list, tuple)):
        return [strict_data(value) for value in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def json_text(data: Any) -> str:
    """``data`` as strict JSON (indented), undefined numbers as ``null`` (:func:`strict_data`)."""
    return json.dumps(strict_data(data), indent=1, allow_nan=False)


def write_json_atomically(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as strict JSON (:func:`json_text`) to ``path`` atomically; returns ``path``."""
    return write_text_atomically(path, json_text(data) + "\n")


def read_file(path: str | os.PathLike, read: Callable[[Path], T]) -> T:
    """``read(path)``; any failure, a missing file included, becomes a :class:`CorruptFile` naming ``path``
    and what went wrong."""
    path = Path(path)
    try:
        return read(path)
    except FileNotFoundError:
        raise CorruptFile(f"{path} is missing") from None
    except Exception as error:  # noqa: BLE001 - whatever a reader raises, the file does not read back
        raise CorruptFile(f"{path} does not read back ({type(error).__name__}: {error})") from error


def read_json(path: str | os.PathLike, required: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON object in ``path``, which must hold every key of ``required``; :class:`CorruptFile` otherwise."""
    data = read_file(path, lambda file: json.loads(file.read_text()))
    if not isinstance(data, dict):
        raise CorruptFile(f"{path} does not hold a JSON object")
    missing = [key for key in required if key not in data]
    if missing:
        raise CorruptFile(f"{path} lacks the key(s) {missing}")
    return data


def check_writable(folder: str | os.PathLike) -> None:
    """Create ``folder`` if needed and check a file can be written in it (an ``OSError`` naming it if not)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OSError(f"cannot write in {folder}: {error.strerror or error}") from None
