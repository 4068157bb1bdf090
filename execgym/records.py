"""Records and tables: a problem's episode state and its market, each spelled once as a ``NamedTuple`` type.

A *record* is a ``NamedTuple`` of numbers and sequences: one episode's state
(numbers, and fixed-length vectors such as per-asset holdings), or one market
(numbers, per-period or per-asset sequences, matrices). A *table* is the same
``NamedTuple`` type holding arrays with one row per slot of a vector env: the
batch's states, or a market per slot. One type, three users:

* the scalar env holds one state record and calls its problem's step on it in
  plain Python;
* the vector env holds a table and runs the same step compiled by numba, slot
  by slot, reading row i with :func:`row` and writing it with :func:`set_row`
  (both compiled for any ``NamedTuple`` type, one generated line per field);
* :func:`table_of`, :func:`empty_table` and :func:`empty_like` build tables
  from Python.

A market is passed to compiled code either as one record shared by every slot
(read through :func:`shared_market`) or as a table with a row per slot
(:func:`market_table`: every number of a slot's market in one row of one
array, the sequences as columns), read row by row with :func:`market_row`. A
vector env whose slots share one market therefore passes that one record, which
every slot reads, and no table.

Field types come from the ``NamedTuple``'s annotations: ``int`` is stored as
int64, ``float`` as float64 and ``bool`` as bool (in a market table, all three
as float64 entries of its ``numbers``, exact); a
field annotated otherwise (a per-period tuple of a market, a per-asset vector
of a state: a *sequence field*) is stored as a float64 array with one more
axis, padded with NaN where rows differ in length (:func:`table_of`).

A market's sequence field of which a step reads one entry (a per-period
profile, a lookup table indexed by the state) is annotated :class:`Lookup`; a
market table stores it slot-major (entry j of every slot adjacent), so that
slots at the same step read adjacent memory instead of a cache line each. A
sequence a step reads whole (a per-asset vector, a covariance) is annotated
``tuple`` and stored row-major, each slot's entries adjacent.

A state's sequence fields are vectors of one length k in every row, the
table's (n, k) columns: :func:`row` gives views of them (no copy),
:func:`set_row` writes them entry by entry, and :func:`empty_table` takes k
from an example record. A step writes the next vectors into given ones, so
the compiled loop allocates nothing per slot: into the views of a row of the
next table, or, in the scalar env, over its record's own lists
(:func:`owned`); see :mod:`execgym.engine`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple, Sequence, TypeVar

import numpy as np
from numba import types
from numba.core import cgutils, ir_utils
from numba.extending import intrinsic, overload
from numba.np.arrayobj import populate_array

R = TypeVar("R", bound=tuple)


class Lookup(tuple):
    """The annotation of a market's sequence field of which a step reads one entry (module docstring): a
    market table stores it slot-major. Its values are ordinary tuples (or arrays)."""


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


@lru_cache(maxsize=None)
def sequence_fields(record_type: type) -> tuple[str, ...]:
    """The names of ``record_type``'s sequence fields (module docstring)."""
    return tuple(name for name in record_type._fields if _annotation(record_type, name) not in _DTYPES)


def empty_table(record_type: type[R], n: int, example: R | None = None) -> R:
    """A table of ``record_type`` with ``n`` uninitialised rows; a sequence field is (n, *shape) float64 with the
    shape of its value in ``example`` (a record of the type, needed only when there are sequence fields)."""
    sequences = sequence_fields(record_type)
    if sequences and example is None:
        raise ValueError(f"a table of {record_type.__name__} needs an example record for the shapes of its "
                         f"sequence fields {list(sequences)}")
    return record_type(*(np.empty((n, *np.shape(getattr(example, name)))) if name in sequences
                         else np.empty(n, dtype=field_dtype(record_type, name)) for name in record_type._fields))


def empty_like(table: R) -> R:
    """A table of the type and shapes of ``table``, uninitialised."""
    return type(table)(*(np.empty_like(column) for column in table))


def owned(record: R) -> R:
    """``record`` with each sequence field a new list: a record whose vectors a step may update in place (the
    record itself when it has no sequence fields)."""
    copy = _owner(type(record))
    return record if copy is None else copy(record)


@lru_cache(maxsize=None)
def _owner(record_type: type):
    """record -> :func:`owned` record, generated for ``record_type`` (None without sequence fields)."""
    sequences = sequence_fields(record_type)
    if not sequences:
        return None
    fields = ", ".join(f"list(record[{k}])" if name in sequences else f"record[{k}]"
                       for k, name in enumerate(record_type._fields))
    return _generated("owned", "record", f"return Record({fields})", record_type)


def table_of(records: Sequence[R]) -> R:
    """The table whose row i is ``records[i]`` (all of one type); sequence fields become (n, longest) float64
    arrays padded with NaN, slot-major for a :class:`Lookup` field (module docstring)."""
    record_type = type(records[0])
    columns = []
    for name, values in zip(record_type._fields, zip(*records)):
        if _annotation(record_type, name) in _DTYPES:
            columns.append(np.array(values, dtype=field_dtype(record_type, name)))
        elif _is_lookup(record_type, name):
            columns.append(np.asfortranarray(_padded(values)))
        else:
            columns.append(_padded(values))
    return record_type(*columns)


def _is_lookup(record_type: type, name: str) -> bool:
    return _annotation(record_type, name).rsplit(".", 1)[-1] == Lookup.__name__   # Lookup or records.Lookup


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
    """Write ``record`` into row ``i`` of ``table`` (every field; a vector field entry by entry, so a record whose
    vectors are views of that very row may be written back)."""
    for column, value in zip(table, record):
        column[i] = value


def _generated(name: str, arguments: str, body: str, record_class: type, **names):
    """A function compiled from source ``body`` (its namespace: the record class as ``Record``, and ``names``)."""
    namespace = {"Record": record_class, **names}
    exec(f"def {name}({arguments}):\n    {body}\n", namespace)
    return namespace[name]


def _record_class(typ) -> type | None:
    return getattr(typ, "instance_class", None) if isinstance(typ, types.BaseNamedTuple) else None


def market_table(records: Sequence[R]) -> tuple:
    """The market table of ``records`` (one market per slot, all of one type), as compiled code reads it fastest:
    a ``NamedTuple`` whose first field, ``numbers``, holds every number of a market in one (n, F) float64 row per
    slot (ints, which must lie within ±2⁵³, and bools as floats, exact), followed by the sequence fields as
    :func:`table_of` stores them. :func:`market_row` reads a slot's market from it: its numbers from one row, one
    base pointer for all of them (a column per number kept a pointer per number live across the step, spilled
    around every call such as a ``pow``)."""
    record_type = type(records[0])
    table, sequences, numbers = table_of(records), sequence_fields(record_type), []
    for name, column in zip(record_type._fields, table):
        if name in sequences:
            continue
        if column.dtype == np.int64 and np.any(np.abs(column) > 2**53):
            raise ValueError(f"market field {name} must lie in [-2**53, 2**53] to be stored exactly as a float64 "
                             f"number; got {column[np.abs(column) > 2**53][0]}")
        numbers.append(column)
    numbers = np.stack(numbers, axis=1).astype(np.float64) if numbers else np.empty((len(records), 0))
    return _packed_class(record_type)(numbers, *(getattr(table, name) for name in sequences))


@lru_cache(maxsize=None)
def _packed_class(record_type: type) -> type:
    """The ``NamedTuple`` class of :func:`market_table`'s tables of ``record_type`` (its ``record_type``
    attribute names the market type a row is read as; a table pickles as its record type and columns)."""
    packed = NamedTuple(f"{record_type.__name__}Table", [("numbers", np.ndarray)] +
                        [(name, np.ndarray) for name in sequence_fields(record_type)])
    packed.record_type = record_type
    packed.__reduce__ = lambda table: (_packed_table, (table.record_type, tuple(table)))
    return packed


def take_rows(store: tuple, indices: np.ndarray) -> tuple:
    """The market table (:func:`market_table`) whose row i is row ``indices[i]`` of ``store`` (a store of
    :func:`empty_rows`), in a market table's layout: its :class:`Lookup` sequences gathered row by row (a market's
    entries adjacent in the store, the fewest cache lines read from a store larger than the cache), then made
    slot-major."""
    record_type = store.record_type
    columns = [np.take(store.numbers, indices, axis=0)]      # np.take: 3x faster than fancy indexing here
    for name, column in zip(sequence_fields(record_type), store[1:]):
        rows = np.take(column, indices, axis=0)
        columns.append(np.asfortranarray(rows) if _is_lookup(record_type, name) else rows)
    return type(store)(*columns)


def empty_rows(table: tuple, n: int) -> tuple:
    """A store of ``n`` uninitialised market rows with the columns and sequence shapes of the market table
    ``table``, every column row-major (a market's entries adjacent), which :func:`take_rows` gathers markets
    from."""
    return type(table)(*(np.empty((n, *column.shape[1:])) for column in table))


def _packed_table(record_type: type, columns: tuple) -> tuple:
    """The market table of ``record_type`` holding ``columns`` (unpickling)."""
    return _packed_class(record_type)(*columns)


def market_row(table: tuple, i: int):
    """Row ``i`` of a market table (:func:`market_table`) as a market record; compiled, its sequences are views
    that hold no reference (:func:`borrowed_row`), read only: a loop over thousands of slots, each reading its own
    market, then does no reference counting per slot."""
    record_type = table.record_type
    numbers, sequences = iter(table.numbers[i].tolist()), iter(table[1:])
    return record_type(*(next(sequences)[i] if name in sequence_fields(record_type)
                         else {"int": int, "bool": bool}.get(_annotation(record_type, name), float)(next(numbers))
                         for name in record_type._fields))


def shared_market(market: R) -> R:
    """``market``, the one record every slot of a batch reads; compiled, its sequences are views that hold no
    reference (:func:`borrowed`), read only: a loop over thousands of slots reading them then does no reference
    counting per slot."""
    return market


@overload(shared_market)
def _shared_market(market):
    record_class = _record_class(market)
    if record_class is None:
        return None
    fields = ", ".join(f"borrowed(market[{k}])" if isinstance(field, types.Array) else f"market[{k}]"
                       for k, field in enumerate(market))
    return _generated("shared_market", "market", f"return Record({fields})", record_class, borrowed=borrowed)


@overload(row)     # not inlined by numba (LLVM inlines it): the call keeps the alias below visible
def _row(table, i):
    record_class = _record_class(table)
    if record_class is None:
        return None
    fields = ", ".join(f"table[{k}][i]" for k in range(len(table)))
    return _generated("row", "table, i", f"return Record({fields})", record_class)


@overload(market_row)
def _market_row(table, i):
    record_type = getattr(_record_class(table), "record_type", None)
    if record_type is None:
        return None
    sequences, fields, column = sequence_fields(record_type), [], 0
    for name in record_type._fields:
        if name in sequences:
            fields.append(f"borrowed_row(table[{1 + sequences.index(name)}], i)")
            continue
        kind, number = _annotation(record_type, name), f"numbers[{column}]"
        fields.append(f"int({number})" if kind == "int" else f"{number} != 0.0" if kind == "bool" else number)
        column += 1
    body = f"numbers = borrowed_row(table[0], i)\n    return Record({', '.join(fields)})"
    return _generated("market_row", "table, i", body, record_type, borrowed_row=borrowed_row)


@intrinsic
def borrowed_row(typingctx, column, i):
    """``column[i]`` of an array of two or more dimensions, as a view that holds no reference to the array (no
    reference counting per row: :func:`market_row`'s sequences, read in a compiled loop over thousands of
    slots). Compiled code only, and only while ``column`` lives: a loop reading its rows, never a value
    returned."""
    if not (isinstance(column, types.Array) and column.ndim > 1 and isinstance(i, types.Integer)):
        return None
    view = column.copy(ndim=column.ndim - 1, layout="C" if column.layout == "C" else "A")

    def codegen(context, builder, signature, args):
        column_type, index_type = signature.args
        array = context.make_array(column_type)(context, builder, args[0])
        out = context.make_array(signature.return_type)(context, builder)
        shape, strides = cgutils.unpack_tuple(builder, array.shape), cgutils.unpack_tuple(builder, array.strides)
        index = context.cast(builder, args[1], index_type, types.intp)
        start = builder.gep(builder.bitcast(array.data, cgutils.voidptr_t), [builder.mul(index, strides[0])])
        populate_array(out, data=builder.bitcast(start, array.data.type), shape=shape[1:], strides=strides[1:],
                       itemsize=array.itemsize, meminfo=None)
        return out._getvalue()
    return view(column, i), codegen


@intrinsic
def borrowed(typingctx, array):
    """``array`` as a view that holds no reference to it (:func:`shared_market`'s sequences). Compiled code
    only, and only while ``array`` lives: a loop reading it, never a value returned."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        source = context.make_array(signature.args[0])(context, builder, args[0])
        out = context.make_array(signature.return_type)(context, builder)
        populate_array(out, data=source.data, shape=source.shape, strides=source.strides, itemsize=source.itemsize,
                       meminfo=None)
        return out._getvalue()
    return array(array), codegen


def _row_aliases_its_table(lhs, args, alias_map, arg_aliases) -> None:
    """Tell numba's dead-code pass that a row aliases its table: its vectors are views, and a write such as
    ``record.holdings[j] = x`` must not be dropped as a write to a local."""
    ir_utils._add_alias(lhs, args[0].name, alias_map, arg_aliases)


ir_utils.alias_func_extensions[("row", __name__)] = _row_aliases_its_table


@overload(set_row, inline="always")
def _set_row(table, i, record):
    record_class = _record_class(table)
    if record_class is None:
        return None
    lines = [f"for j in range(table[{k}].shape[1]):\n        table[{k}][i, j] = record[{k}][j]"
             if isinstance(column, types.Array) and column.ndim == 2 else f"table[{k}][i] = record[{k}]"
             for k, column in enumerate(table)]
    return _generated("set_row", "table, i, record", "\n    ".join(lines) or "pass", record_class)
