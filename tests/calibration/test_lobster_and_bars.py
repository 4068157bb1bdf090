"""LOBSTER days and OHLCV bars: read back what the simulator wrote, refuse malformed files naming file, row and
column, and calibrate from either."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import execgym
from execgym.calibration import estimates
from execgym.calibration.formats import DataError
from execgym.calibration.lobster import read_lobster, write_lobster
from execgym.calibration.synthetic import SyntheticStock, bars, simulate
from execgym.experiments.cli import main

MARKET = simulate(SyntheticStock(days=1, daily_trades=500, desk_orders_per_day=0, quote_interval=10.0), seed=3)


def lobster_pair(folder):
    return write_lobster(MARKET.trades, MARKET.quotes, folder)


def test_a_lobster_day_reads_back_the_trades_with_their_aggressor_and_the_quotes(tmp_path):
    trades, quotes = read_lobster(*lobster_pair(tmp_path))
    for column in ("price", "size", "side"):
        np.testing.assert_array_equal(trades[column].to_numpy(), MARKET.trades[column].to_numpy())
    np.testing.assert_array_equal(trades["timestamp"].to_numpy(), MARKET.trades["timestamp"].to_numpy())
    np.testing.assert_allclose(quotes[["bid", "ask"]].to_numpy(), MARKET.quotes[["bid", "ask"]].to_numpy(), rtol=0,
                               atol=1e-9)


def corrupt(path, row, column, value):
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[column] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("which, row, column, value, message", [
    (0, 5, 0, "30000", r"message_1.csv, row 6 \(line 6\), column 'time': 30000 is earlier than the row before"),
    (0, 3, 1, "9", r"row 4 \(line 4\), column 'type': 9 is not an event type"),
    (0, 2, 3, "-5", r"row 3 .*column 'size': -5 is not a positive size"),
    (0, 4, 5, "0", r"row 5 .*column 'direction': 0 is not a direction"),
    (0, 7, 4, "abc", r"row 8 \(line 8\), column 5: 'abc' is not a number"),
    (1, 9, 2, "99999999", r"orderbook_1.csv, row 10 .*column 'bid price 1': crossed book, bid 10000 above ask"),
])
def test_malformed_lobster_files_name_the_file_row_and_column(tmp_path, which, row, column, value, message):
    paths = lobster_pair(tmp_path)
    corrupt(paths[which], row, column, value)
    with pytest.raises(DataError, match=message):
        read_lobster(*paths)


def test_lobster_files_of_different_days_or_lengths_are_refused(tmp_path):
    message, book = lobster_pair(tmp_path)
    other = book.with_name(book.name.replace("2026-01-05", "2026-01-06"))
    shutil.copy(book, other)
    with pytest.raises(DataError, match="are of different days or stocks"):
        read_lobster(message, other)
    book.write_text("\n".join(book.read_text().splitlines()[:-3]) + "\n")
    with pytest.raises(DataError, match=r"rows against \d+ in .*: the order book has one row per message"):
        read_lobster(message, book)
    with pytest.raises(DataError, match="not a LOBSTER message file name"):
        read_lobster(book, book)


def test_bars_recover_volatility_spread_and_volume_within_their_intervals():
    stock = SyntheticStock(days=30, desk_orders_per_day=0)
    frame = bars(simulate(stock, seed=9))
    for estimate, truth in ((estimates.bar_volatility(frame), stock.volatility),
                            (estimates.bar_half_spread(frame), stock.quoted_half_spread),
                            (estimates.bar_daily_volume(frame), stock.daily_volume)):
        low, high = estimate.interval
        assert low <= truth <= high, (str(estimate), truth)
    fractions = estimates.bar_volume_fractions(frame)
    assert fractions.shape == (30, 13)
    np.testing.assert_allclose(fractions.mean(axis=0), stock.volume_profile(13), atol=0.01)


@pytest.mark.parametrize("sample", [pytest.param("synthetic_stock_lobster", marks=pytest.mark.slow),
                                    "synthetic_stock_bars"])
def test_the_lobster_and_bars_samples_calibrate(tmp_path, sample):
    out = tmp_path / "out"
    data = Path(__file__).resolve().parents[2] / "examples" / "data" / sample
    assert main(["calibrate", str(data), "--shares", "100000", "--draws", "10", "--out", str(out)]) == 0
    params = yaml.safe_load((out / "params.yaml").read_text())
    assert execgym.make_oracle("OptimalExec-v0", **params).expected_shortfall > 0
    report = (out / "report.md").read_text()
    assert ("LOBSTER day(s)" in report) == (sample.endswith("lobster"))
    assert ("rule of thumb" in report) == (sample.endswith("bars"))
    assert ("held at their estimates (no standard error): permanent_impact" in report) == sample.endswith("bars")


def test_a_sweep_over_several_resting_orders_is_one_market_order_and_hidden_sides_are_inferred(tmp_path):
    """Three executions at one time and direction are one buy of their summed size at the deepest price; a
    hidden execution (type 5) gets no side from the file (NASDAQ reports every hidden one as a buy)."""
    message, book = lobster_pair(tmp_path)
    lines = message.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.split(",")[1] == "4")
    time, _, _, size, price, direction = lines[first].split(",")
    sweep = [f"{time},4,900{k},{size},{int(price) + 100 * k * (1 if direction == '-1' else -1)},{direction}"
             for k in (1, 2)]
    hidden = f"{time},5,9999,100,{price},1"
    lines[first + 1:first + 1] = sweep + [hidden]
    message.write_text("\n".join(lines) + "\n")
    rows = book.read_text().splitlines()
    rows[first + 1:first + 1] = [rows[first]] * 3
    book.write_text("\n".join(rows) + "\n")
    trades, _ = read_lobster(message, book)
    assert len(trades) == len(MARKET.trades) + 1
    swept = trades.iloc[0]
    assert swept["size"] == 3 * int(size) and swept["price"] == (int(price) + 200 * (1 if direction == "-1" else -1)) / 1e4
    assert swept["side"] == -int(direction) and np.isnan(trades.iloc[1]["side"])


def test_folders_of_several_lobster_stocks_or_executions_without_quotes_are_refused(tmp_path):
    from execgym.calibration.data import load

    message, book = lobster_pair(tmp_path)
    for path in (message, book):
        shutil.copy(path, path.with_name(path.name.replace("SYNTH", "OTHER")))
    with pytest.raises(ValueError, match=r"LOBSTER files of several stocks \['OTHER', 'SYNTH'\]"):
        load(tmp_path)
    market = simulate(SyntheticStock(days=2, daily_trades=300, desk_orders_per_day=2), seed=1)
    from execgym.calibration.formats import write_table
    write_table(market.trades, tmp_path / "t" / "trades.csv")
    write_table(market.quotes, tmp_path / "t" / "quotes.csv")
    write_table(market.executions.assign(timestamp=market.executions["timestamp"] + np.timedelta64(7, "D")),
                tmp_path / "t" / "executions.csv")
    with pytest.raises(DataError, match=r"executions.csv: executions on days without quotes"):
        load(tmp_path / "t")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "X_2026-01-05_1_2_message_1.csv").write_text("")
    (tmp_path / "empty" / "X_2026-01-05_1_2_orderbook_1.csv").write_text("")
    with pytest.raises(DataError, match="not a readable LOBSTER message file"):
        load(tmp_path / "empty")
