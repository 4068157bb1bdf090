"""The trading session: a calibration's day is the exchange's session, rows outside it are left out and
counted, and a bad session is refused naming it."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from execgym.calibration import estimates, optimal_exec
from execgym.calibration.calibrate import calibrate
from execgym.calibration.data import load
from execgym.calibration.formats import DataError, Session, write_table
from execgym.experiments.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "synthetic_stock"
FILES = {"trades": "trades.csv.gz", "quotes": "quotes.parquet", "executions": "executions.csv"}


def _copy(folder: Path, change) -> Path:
    """The sample's files, each frame passed through ``change(kind, frame)``, written into ``folder``."""
    market = load(SAMPLE)
    for kind, name in FILES.items():
        frame = getattr(market, kind)
        if kind == "executions":
            frame = frame.assign(side=np.where(frame["side"] > 0, "buy", "sell"))
        elif kind == "trades" and "side" in frame:
            frame = frame.assign(side=np.where(frame["side"] > 0, "buy", "sell"))
        write_table(change(kind, frame), folder / name)
    return folder


def _numbers(stock) -> dict[str, float]:
    return {"volatility": stock.volatility.value, "half_spread": stock.half_spread.value,
            "daily_volume": stock.daily_volume.value, "permanent": stock.permanent_impact.value,
            "temporary": stock.temporary.cost.value, "exponent": stock.temporary.exponent.value,
            **{f"profile_{k}": value for k, value in enumerate(stock.volume_profile)}}


def test_data_shifted_with_its_session_gives_the_same_estimates(tmp_path):
    """The sample moved 90 minutes earlier and calibrated with the session 08:00–14:30 estimates what the
    sample does with 09:30–16:00: every estimate to 1e-9."""
    shift = pd.Timedelta(minutes=90)
    folder = _copy(tmp_path, lambda kind, frame: frame.assign(timestamp=frame["timestamp"] - shift))
    shifted = optimal_exec.estimate(load(folder, Session("08:00", "14:30")))
    original = optimal_exec.estimate(load(SAMPLE))
    for name, value in _numbers(original).items():
        assert _numbers(shifted)[name] == pytest.approx(value, rel=1e-9), name
    with pytest.raises(ValueError, match="no trade in 14:30–15:00 .bucket 10 of the session 09:30–16:00"):
        optimal_exec.estimate(load(folder))       # the default session sees the shifted days end at 14:30


def test_rows_outside_the_session_are_left_out_counted_and_reported(tmp_path):
    """Pre-market trades and after-hours quotes (at prices far away) change no estimate; the report says how
    many rows of each file were left out."""
    def add_outside(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
        if kind == "executions":
            return frame
        days = frame["timestamp"].dt.normalize().unique()
        extra = frame.groupby(frame["timestamp"].dt.normalize()).head(3).copy()
        if kind == "trades":
            extra["timestamp"] = np.repeat(days, 3) + pd.to_timedelta([28_800, 28_801, 28_802] * len(days), unit="s")
            extra["price"] *= 1.5
            extra["size"] *= 100.0
        else:
            extra["timestamp"] = np.repeat(days, 3) + pd.to_timedelta([58_000, 58_001, 58_002] * len(days), unit="s")
            extra[["bid", "ask"]] *= 0.5
        return pd.concat([frame, extra]).sort_values("timestamp", kind="stable")

    folder = _copy(tmp_path / "data", add_outside)
    market = load(folder)
    days = load(SAMPLE).trades["timestamp"].dt.normalize().nunique()
    assert market.sources["session"] == (f"09:30–16:00 (exchange local time); outside it, left out: "
                                         f"{3 * days} trades rows, {3 * days} quotes rows")
    original = _numbers(optimal_exec.estimate(load(SAMPLE)))
    for name, value in _numbers(optimal_exec.estimate(market)).items():
        assert value == pytest.approx(original[name], rel=1e-12), name
    result = calibrate(folder, "optimal-exec", tmp_path / "out", shares=2e5, draws=5)
    assert f"Trading session: {market.sources['session']}." in result.report


def test_a_day_is_the_session_variance_per_day_scales_with_its_length():
    """σ² is a variance per session: the same quotes read with a session 1.5 times as long give 1.5 times
    the variance, exactly."""
    quotes = load(SAMPLE).quotes
    regular = estimates.volatility(quotes).value
    longer = estimates.volatility(quotes, session=Session("09:30", "19:15")).value
    assert longer ** 2 == pytest.approx(1.5 * regular ** 2, rel=1e-12)


@pytest.mark.parametrize("text, message", [
    ("09:30", "OPEN-CLOSE"), ("16:00-09:30", "must come before"), ("09:75-16:00", "not a time of day"),
    ("24:30-25:00", "not a time of day"), ("nine-five", "not a time of day")])
def test_a_bad_session_is_refused_naming_it(text, message):
    with pytest.raises(ValueError, match=message):
        Session.parse(text)


def test_the_cli_refuses_a_bad_session_before_reading_anything(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["calibrate", str(SAMPLE), "--shares", "1e5", "--session", "16:00-09:30", "--out", str(tmp_path / "o")])
    assert "--session" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_data_with_no_row_in_the_session_is_refused_naming_the_file():
    with pytest.raises(DataError, match=r"trades.csv.gz: no trades row within the session 00:00–01:00"):
        load(SAMPLE, Session("00:00", "01:00"))


def test_a_session_the_data_covers_only_in_part_is_refused_naming_the_empty_bucket(tmp_path, capsys):
    """The sample (09:30–16:00) read with 08:00–14:30: no trade in the session's first buckets, which the
    schedule's per-period impact would divide by; the error names the first and the session."""
    assert main(["calibrate", str(SAMPLE), "--shares", "2e5", "--session", "08:00-14:30", "--draws", "2",
                 "--out", str(tmp_path / "o")]) == 1
    assert ("no trade in 08:00–08:30 (bucket 0 of the session 08:00–14:30) on any day"
            in capsys.readouterr().err) and not (tmp_path / "o").exists()
