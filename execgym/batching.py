"""Batches of episodes as frozen dataclasses of arrays, one row per episode."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

import numpy as np

B = TypeVar("B")


def replace_rows(batch: B, rows: B, where: np.ndarray) -> B:
    """``batch`` with its rows where ``where`` is True taken, in order, from ``rows`` (every field)."""
    arrays = {}
    for field in fields(batch):
        array = getattr(batch, field.name).copy()
        array[where] = getattr(rows, field.name)
        arrays[field.name] = array
    return type(batch)(**arrays)
