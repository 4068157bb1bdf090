"""Durable atomic writes: a file is written to a temporary ``.<name>.<random>.tmp`` beside it, flushed to disk
(``fsync``), renamed over its name, and the folder's entry flushed too, so a finished file survives a kill or a
power loss complete under its name, or is absent (:mod:`execgym.experiments.files` builds the run files on
it)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

TEMPORARY_SUFFIX = ".tmp"


def fsync_path(path: str | os.PathLike) -> None:
    """Flush ``path`` (a file or a folder: its entries) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_durably(source: str | os.PathLike, destination: str | os.PathLike) -> None:
    """Rename ``source`` (a file or folder, already flushed) to ``destination``, then flush the folder holding
    it, so the rename survives a power loss."""
    os.replace(source, destination)
    fsync_path(Path(destination).parent)


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk and rename it to ``path``;
    returns ``path``."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        replace_durably(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return write_atomically(path, lambda file: file.write(text.encode("utf-8")))
