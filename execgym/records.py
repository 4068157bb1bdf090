"""Records and tables: a problem's episode state and its market, each spelled once as a ``NamedTuple`` type.

A *record* is a ``NamedTuple`` of numbers (and, for a market, per-period
sequences): one episode's state, or one market. A *table* is the same
``NamedTuple`` type holding arrays with one row per slot of a vector env: the
batch's states, or a market per slot. One type, three users:

* the scalar env holds one state record and calls its problem's step on it in
  plain Python;
* the vector env holds a table and runs the same step compiled by numba, slot
  by slot, reading row i with :func:`row` and writing it with :func:`set_row`
  (both compiled for any ``NamedTuple`` type, one generated line per field);
* :func:`table_of` and :func:`empty_table` build tables from Python.

A market is passed to compiled code either as one record shared by every slot
or as a table with a row per slot; :func:`slot_market` reads slot i's market
from either (the first field of a market type is a number, so a market whose
first field is an array is a table). A vector env whose slots share one market
therefore passes that one record, which every slot reads, and no table.

Field types come from the ``NamedTuple``'s annotations: ``int`` is stored as
int64, ``float`` as float64 and ``bool`` as bool; a
field annotated otherwise (a per-period tuple of a market) is stored as a
float64 array with one more axis, padded with NaN where rows differ in length.
"""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

import numpy as np
from numba import types
from numba.extending import overload

R = TypeVar("R", bound=tuple)


_DTYPES = {"int": np.int64, "float": np.float64, "bool": np.bool_}


def _annotation(record_type: type, name: str) -> str:
    """Field ``name``'s annotation as written (a string also under ``from __future__ import annotations``)."""
    annotation = record_type.__annotations__[name]
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__forward_arg__", None) or getattr(annotation, "__name__", repr(annotation))


def field_dtype(record_type: type, name: str) -> np.dtype:
    """The dtype a table of ``record_type`` stores field ``name`` in (module docstring)."""
    return np.dtype(_DTYPES.get(_annotation(record_type, name), np.float64))


def empty_table(record_type: type[R], n: int) -> R:
    """A table of ``record_type`` with ``n`` uninitialised rows (scalar fields only)."""
    return record_type(*(np.empty(n, dtype=field_dtype(record_type, name)) for name in record_type._fields))


def table_of(records: Sequence[R]) -> R:
    """The table whose row i is ``records[i]`` (all of one type); sequence fields become (n, longest) float64
    arrays padded with NaN."""
    record_type = type(records[0])
    columns = []
    for name, values in zip(record_type._fields, zip(*records)):
        if _annotation(record_type, name) in _DTYPES:
            columns.append(np.array(values, dtype=field_dtype(record_type, name)))
        else:
            columns.append(_padded(values))
    return record_type(*columns)


def _padded(values: Sequence) -> np.ndarray:
    """Sequences (one per row, each a sequence or an array) as one float64 array with a leading row axis,
    every further axis padded with NaN to the longest row."""
    arrays = [np.asarray(value, dtype=np.float64) for value in values]
    shape = tuple(max(sizes) for sizes in zip(*(array.shape for array in arrays)))
    out = np.full((len(arrays), *shape), np.nan)
    for i, array in enumerate(arrays):
        out[(i, *(slice(0, size) for size in array.shape))] = array
    return out


def row(table: R, i: int) -> R:
    """Row ``i`` of ``table`` as a record (compiled for any ``NamedTuple`` type by the overload below)."""
    return type(table)(*(column[i] for column in table))


def set_row(table: R, i: int, record: R) -> None:
    """Write ``record`` into row ``i`` of ``table`` (every field)."""
    for column, value in zip(table, record):
        column[i] = value


def slot_market(market: Any, i: int) -> Any:
    """The market of slot ``i``: ``market`` itself if it is one record shared by every slot, else row ``i`` of
    the market table (module docstring)."""
    return row(market, i) if isinstance(market[0], np.ndarray) else market


def _generated(name: str, arguments: str, body: str, record_class: type):
    """A function compiled from source ``body`` (its namespace: the record class as ``Record``)."""
    namespace = {"Record": record_class}
    exec(f"def {name}({arguments}):\n    {body}\n", namespace)
    return namespace[name]


def _record_class(typ) -> type | None:
    return getattr(typ, "instance_class", None) if isinstance(typ, types.BaseNamedTuple) else None


@overload(row, inline="always")
def _row(table, i):
    record_class = _record_class(table)
    if record_class is None:
        return None
    fields = ", ".join(f"table[{k}][i]" for k in range(len(table)))
    return _generated("row", "table, i", f"return Record({fields})", record_class)


@overload(set_row, inline="always")
def _set_row(table, i, record):
    record_class = _record_class(table)
    if record_class is None:
        return None
    body = "; ".join(f"table[{k}][i] = record[{k}]" for k in range(len(table)))
    return _generated("set_row", "table, i, record", body, record_class)


@overload(slot_market, inline="always")
def _slot_market(market, i):
    if _record_class(market) is None:
        return None
    if isinstance(market[0], types.Array):
        return lambda market, i: row(market, i)
    return lambda market, i: market

