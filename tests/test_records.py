"""Records with vector fields: tables hold them as (n, k) columns, shaped from an example record; compiled code
reads a row's vectors as views and writes them back entry by entry; ``owned`` gives a record lists of its own."""

import pickle
from typing import NamedTuple

import numba
import numpy as np
import pytest

from execgym import records
from execgym.records import (Lookup, borrowed_row, empty_like, empty_table, market_row, market_table, owned, row,
                             sequence_fields, set_row, shared_market, table_of)


class Slot(NamedTuple):
    elapsed: int
    cash: float
    holdings: list


EXAMPLE = Slot(0, 0.0, (1.0, 2.0, 3.0))


@numba.njit
def _doubled_rows(table, out):
    for i in range(table[0].size):
        record = row(table, i)
        for j in range(record.holdings.size):
            record.holdings[j] *= 2.0     # a view: writes the table
        set_row(out, i, Slot(record.elapsed + 1, record.cash, record.holdings))


def test_vector_fields_are_n_by_k_columns_shaped_from_an_example():
    assert sequence_fields(Slot) == ("holdings",)
    table = empty_table(Slot, 4, EXAMPLE)
    assert [column.shape for column in table] == [(4,), (4,), (4, 3)]
    assert [column.dtype for column in table] == [np.int64, np.float64, np.float64]
    assert [column.shape for column in empty_like(table)] == [(4,), (4,), (4, 3)]
    with pytest.raises(ValueError, match=r"needs an example record .* \['holdings'\]"):
        empty_table(Slot, 4)


def test_compiled_rows_give_views_of_vectors_and_set_row_writes_them_back():
    table = Slot(np.arange(2), np.array([5.0, 6.0]), np.arange(6.0).reshape(2, 3))
    out = empty_like(table)
    _doubled_rows(table, out)
    np.testing.assert_array_equal(table.holdings, 2.0 * np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(out.holdings, table.holdings)
    np.testing.assert_array_equal(out.elapsed, [1, 2])
    _doubled_rows(out, out)                 # a record of views of the very row it is written to
    np.testing.assert_array_equal(out.holdings, 4.0 * np.arange(6.0).reshape(2, 3))


def test_owned_gives_a_record_lists_of_its_own():
    record = owned(EXAMPLE)
    assert record == Slot(0, 0.0, [1.0, 2.0, 3.0]) and isinstance(record.holdings, list)
    assert owned(record).holdings is not record.holdings

    class Plain(NamedTuple):
        elapsed: int

    plain = Plain(3)
    assert owned(plain) is plain


@numba.njit
def _rows_summed_by_index(column):
    """Σ_j row[j...] of borrowed_row(column, i) for every i, entry by entry (2 or 3 dimensions)."""
    out = np.zeros(column.shape[0])
    for i in range(column.shape[0]):
        view = borrowed_row(column, np.int32(i))
        for entry in np.nditer(view):
            out[i] += entry.item()
    return out


@pytest.mark.parametrize("column", [
    np.arange(24.0).reshape(6, 4),                        # C-contiguous
    np.arange(60.0).reshape(5, 4, 3),                     # three dimensions
    np.arange(48.0).reshape(8, 6)[::2, 1::2],             # strided rows and entries
    np.asfortranarray(np.arange(20.0).reshape(5, 4)),     # column-major
])
def test_borrowed_rows_read_what_numpy_rows_hold(column):
    np.testing.assert_array_equal(_rows_summed_by_index(column), [float(r.sum()) for r in column])


class Quote(NamedTuple):
    levels: int
    depth: tuple


class Profile(NamedTuple):
    periods: int
    impact: Lookup
    table: Lookup


@numba.njit
def _market_rows_summed(table):
    out = np.zeros(table.numbers.shape[0])
    for i in range(out.size):
        market = market_row(table, i)
        for j in range(market.depth.size):
            out[i] += market.depth[j] * market.levels
    return out


def test_market_rows_read_each_slots_market():
    table = market_table([Quote(2, (1.0, 2.0)), Quote(3, (4.0, 0.0)), Quote(1, (0.5, 0.25))])
    assert market_row(table, 1).levels == 3 and market_row(table, 1).depth.tolist() == [4.0, 0.0]
    np.testing.assert_array_equal(_market_rows_summed(table), [6.0, 12.0, 0.75])


@numba.njit
def _entries_at(table, period, level):
    out = np.empty((table.numbers.shape[0], 2))
    for i in range(out.shape[0]):
        market = market_row(table, i)
        out[i, 0], out[i, 1] = market.impact[period], market.table[period, level]
    return out


def test_lookup_fields_are_stored_slot_major_and_read_as_each_slots_entries():
    markets = [Profile(2, (1.0, 2.0), ((1.0, 2.0), (3.0, 4.0))), Profile(3, (5.0, 6.0, 7.0), ((8.0, 9.0),))]
    table = market_table(markets)
    assert sequence_fields(Profile) == ("impact", "table")
    assert table.impact.flags.f_contiguous and table.table.flags.f_contiguous
    assert table.impact.strides[0] == 8 and table.table.strides[0] == 8     # entry j of every slot adjacent
    np.testing.assert_array_equal(table.impact, [[1.0, 2.0, np.nan], [5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(_entries_at(table, 1, 0), [[2.0, 3.0], [6.0, np.nan]])
    np.testing.assert_array_equal(_entries_at(table, 0, 1), [[1.0, 2.0], [5.0, 9.0]])


@numba.njit
def _shared_entries(market, slots):
    shared = shared_market(market)
    out = np.empty((slots, 3))
    for i in range(slots):
        out[i, 0], out[i, 1], out[i, 2] = shared.periods, shared.impact[i % 2], shared.table[i % 2, 1]
    return out


def test_a_shared_market_reads_its_own_numbers_and_sequences():
    market = Profile(4, np.array([1.5, 2.5]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(_shared_entries(market, 3), [[4, 1.5, 2.0], [4, 2.5, 4.0], [4, 1.5, 2.0]])


class Venue(NamedTuple):
    periods: int
    spread: float
    depth: tuple
    open_auction: bool
    impact: Lookup
    lot: int


VENUES = [Venue(3, 0.25, (1.0, 2.0), True, (0.5, 0.25, 0.125), 2**52 + 1),
          Venue(2, -1.5e-300, (4.0,), False, (3.0, 1.0), -7)]


@numba.njit
def _venue_rows(table):
    out = []
    for i in range(table.numbers.shape[0]):
        venue = market_row(table, i)
        out.append((venue.periods, venue.spread, venue.depth[0], venue.open_auction, venue.impact[1], venue.lot))
    return out


def test_a_market_table_packs_the_numbers_in_one_row_per_slot_and_reads_them_back_exactly():
    table = market_table(VENUES)
    assert table._fields == ("numbers", "depth", "impact") and table.numbers.shape == (2, 4)
    assert table.impact.flags.f_contiguous and table.depth.flags.c_contiguous
    assert _venue_rows(table) == [(3, 0.25, 1.0, True, 0.25, 2**52 + 1), (2, -1.5e-300, 4.0, False, 1.0, -7)]
    first = market_row(table, 0)
    assert (first.periods, first.spread, first.open_auction, first.lot) == (3, 0.25, True, 2**52 + 1)
    np.testing.assert_array_equal(first.impact, [0.5, 0.25, 0.125])
    with pytest.raises(ValueError, match=r"market field lot must lie in \[-2\*\*53, 2\*\*53\] .* got 9007199254740993"):
        market_table([VENUES[0]._replace(lot=2**53 + 1)])


class Ticks(NamedTuple):
    levels: "records.Lookup"     # through the module, as postponed annotations spell it


def test_a_market_table_of_sequences_only_pickles_and_reads_back():
    table = market_table([Ticks((1.0, 2.0)), Ticks((3.0, 4.0))])
    assert table.numbers.shape == (2, 0) and table.levels.flags.f_contiguous
    copy = pickle.loads(pickle.dumps(table))
    assert type(copy) is type(table)
    np.testing.assert_array_equal(copy.levels, table.levels)
    np.testing.assert_array_equal(market_row(copy, 1).levels, [3.0, 4.0])
