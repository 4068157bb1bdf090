"""Market data files: each reader on well-formed files (CSV and Parquet round trips) and on malformed ones (a
clear error naming the file, the row and the column; nothing half-written)."""

import numpy as np
import pandas as pd
import pytest

from execgym.calibration import formats
from execgym.calibration.synthetic import SyntheticStock, simulate

MARKET = simulate(SyntheticStock(days=2, daily_trades=300, desk_orders_per_day=3), seed=0)


def bars_of(trades: pd.DataFrame) -> pd.DataFrame:
    """30-minute bars of a tape, stamped at their end."""
    grouped = trades.set_index("timestamp").groupby(pd.Grouper(freq="30min", label="right", closed="left"))
    bars = grouped["price"].ohlc().join(grouped["size"].sum().rename("volume")).dropna().reset_index()
    bars["timestamp"] = bars["timestamp"].astype("datetime64[us]")
    return bars


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
@pytest.mark.parametrize("kind", ["trades", "quotes", "executions"])
def test_files_round_trip_exactly(tmp_path, kind, suffix):
    frame = getattr(MARKET, kind)
    path = formats.write_table(frame, tmp_path / f"{kind}{suffix}")
    back = getattr(formats, f"read_{kind}")(path)
    for column in frame.columns:
        expected = frame[column].astype(str) if column == "order_id" else frame[column]
        np.testing.assert_array_equal(back[column].to_numpy(), expected.to_numpy())
    assert not list(tmp_path.glob(".*.tmp"))


def test_sides_may_be_words_letters_or_signs(tmp_path):
    tape = MARKET.trades.head(4).copy()
    tape["side"] = ["BUY", "s", "1", "-1"]
    back = formats.read_trades(formats.write_table(tape, tmp_path / "t.csv"))
    np.testing.assert_array_equal(back["side"], [1.0, -1.0, 1.0, -1.0])


def write_broken(tmp_path, kind, change, name="broken.csv"):
    frame = getattr(MARKET, kind).head(50).copy().reset_index(drop=True) if kind != "bars" else bars_of(MARKET.trades)
    frame = frame.astype({column: object for column in frame.columns})
    changed = change(frame)
    frame = frame if changed is None else changed
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("kind, change, message", [
    ("trades", lambda f: f.drop(columns="size"),
     r"broken.csv: missing column\(s\) \['size'\]; a trades file has columns \['timestamp', 'price', 'size'\]"),
    ("trades", lambda f: f.loc.__setitem__((6, "size"), -100),
     r"broken.csv, row 7 \(line 8\), column 'size': '-100' is not a number > 0"),
    ("trades", lambda f: f.loc.__setitem__((3, "price"), "abc"), r"row 4 \(line 5\), column 'price': 'abc'"),
    ("trades", lambda f: f.loc.__setitem__((9, "timestamp"), "2026-01-05 09:00:00"),
     r"row 10 \(line 11\), column 'timestamp': 2026-01-05 09:00:00 is earlier than the row before"),
    ("trades", lambda f: f.loc.__setitem__((2, "timestamp"), "yesterday"), r"row 3 .*'yesterday' is not a timestamp"),
    ("trades", lambda f: f.loc.__setitem__((5, "side"), "hold"), r"row 6 .*column 'side': 'hold' is not a side"),
    ("quotes", lambda f: f.loc.__setitem__((4, "bid"), 60.0), r"row 5 .*column 'bid': crossed quote, bid 60 above ask"),
    ("quotes", lambda f: f.loc.__setitem__((8, "timestamp"), f.loc[7, "timestamp"]),
     r"row 9 .*column 'timestamp': .* repeats the row before \(timestamps must increase\)"),
    ("quotes", lambda f: f.loc.__setitem__((1, "ask_size"), -1), r"row 2 .*column 'ask_size': '-1' is not a number >= 0"),
    ("executions", lambda f: f.loc.__setitem__((3, "side"), -f.loc[3, "side"]),
     r"row 4 .*column 'side': order '\d+' has fills on both sides"),
    ("executions", lambda f: f.loc.__setitem__((2, "timestamp"), "2026-01-05 09:30:00"),
     r"row 3 .*earlier than the row before of the same order"),
    ("bars", lambda f: f.loc.__setitem__((2, "high"), 1.0), r"row 3 .*column 'high': 1 is below the open or the close"),
    ("bars", lambda f: f.drop(index=3),
     r"the bars of 2026-01-06 are at other times of day than those of 2026-01-05 \(13 bars against 12\)"),
])
def test_malformed_files_are_refused_naming_the_file_row_and_column(tmp_path, kind, change, message):
    with pytest.raises(formats.DataError, match=message):
        getattr(formats, f"read_{kind}")(write_broken(tmp_path, kind, change))


def test_files_of_other_kinds_and_empty_files_are_refused(tmp_path):
    with pytest.raises(formats.DataError, match=r"no such trades file"):
        formats.read_trades(tmp_path / "nope.csv")
    (tmp_path / "t.txt").write_text("timestamp,price,size\n")
    with pytest.raises(formats.DataError, match=r"must be \.csv, \.csv\.gz, \.parquet or \.pq"):
        formats.read_trades(tmp_path / "t.txt")
    (tmp_path / "t.csv").write_text("timestamp,price,size\n")
    with pytest.raises(formats.DataError, match=r"t.csv: the trades file has no rows"):
        formats.read_trades(tmp_path / "t.csv")
    (tmp_path / "q.parquet").write_bytes(b"not parquet")
    with pytest.raises(formats.DataError, match=r"not a readable Parquet quotes file"):
        formats.read_quotes(tmp_path / "q.parquet")


def test_files_of_one_calibration_must_cover_the_same_days():
    quotes = MARKET.quotes[MARKET.quotes["timestamp"].dt.day == 5]
    with pytest.raises(formats.DataError, match=r"trades.csv and quotes.csv cover different days: only in "
                                                r"trades.csv: \['2026-01-06'\]; only in quotes.csv: \[\]"):
        formats.require_same_days({"trades.csv": MARKET.trades, "quotes.csv": quotes})


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    class Unwritable(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        formats.write_table(Unwritable(MARKET.trades), tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


def test_timestamps_with_an_offset_keep_their_wall_time_and_changing_offsets_are_refused(tmp_path):
    tape = MARKET.trades.head(3).copy()
    tape["timestamp"] = ["2026-01-05 09:30:00-05:00", "2026-01-05 09:30:01-05:00", "2026-01-05 09:30:02-05:00"]
    back = formats.read_trades(formats.write_table(tape, tmp_path / "t.csv"))
    assert str(back["timestamp"].iloc[0]) == "2026-01-05 09:30:00" and back["timestamp"].dt.tz is None
    tape["timestamp"] = ["2026-03-06 09:30:00-05:00", "2026-03-09 09:30:00-04:00", "2026-03-09 09:30:01-04:00"]
    with pytest.raises(formats.DataError, match=r"t2.csv, column 'timestamp': .*one offset or none"):
        formats.read_trades(formats.write_table(tape, tmp_path / "t2.csv"))
