"""Market data files: read and validate the formats people have, write them atomically.

Each reader takes a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file with a header of
column names (extra columns are ignored) and returns a DataFrame sorted as the file was, timestamps as
pandas datetimes (ISO 8601 text in CSV), or raises :class:`DataError` naming the file, the row (1-based among
the data rows; in a CSV, line = row + 1) and the column:

| file | columns | rules |
|---|---|---|
| trades (a tape) | timestamp, price, size[, side] | timestamps non-decreasing; price > 0; size > 0; side buy/sell (or B/S, 1/−1) |
| quotes | timestamp, bid, ask, bid_size, ask_size | timestamps increasing; 0 < bid <= ask (not crossed); sizes >= 0 |
| executions (a desk's fills) | order_id, timestamp, side, size, price | timestamps non-decreasing within an order; one side per order; size, price > 0 |
| bars (OHLCV) | timestamp, open, high, low, close, volume[, vwap, spread] | timestamps increasing; low <= open, close <= high; volume >= 0; vwap in [low, high]; spread >= 0; every day the same bar times |

A bar's timestamp is its end. Files of one calibration must cover the same days (:func:`require_same_days`).
Timestamps are the exchange's local time; a file's UTC offset, if it has one, is dropped (the wall time kept),
and offsets that change within a file are refused. The trading day is a :class:`Session` (by default 09:30–16:00,
:data:`REGULAR`): volume profiles are bucketed over it, σ² is a variance per session, and rows outside it are
left out of a calibration, counted (:func:`within_session`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from execgym.atomic import write_atomically

TRADES = ("timestamp", "price", "size")
QUOTES = ("timestamp", "bid", "ask", "bid_size", "ask_size")
EXECUTIONS = ("order_id", "timestamp", "side", "size", "price")
BARS = ("timestamp", "open", "high", "low", "close", "volume")
SIDES = {"buy": 1.0, "b": 1.0, "1": 1.0, "1.0": 1.0, "+1": 1.0, "sell": -1.0, "s": -1.0, "-1": -1.0, "-1.0": -1.0}
"""Accepted spellings of a side (case-insensitive) and their signs."""


class DataError(ValueError):
    """A malformed data file; the message names the file, the row and the column."""


def _seconds_of_day(text: str) -> float:
    """Seconds after midnight of "HH:MM[:SS]" (24:00 the day's end), or ValueError naming ``session``."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?", str(text).strip())
    if match is None or int(match[2]) > 59 or float(match[3] or 0) >= 60:
        raise ValueError(f"session: {text!r} is not a time of day HH:MM or HH:MM:SS")
    seconds = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3] or 0)
    if seconds > 86_400:
        raise ValueError(f"session: {text!r} is not a time of day (at most 24:00)")
    return seconds


@dataclass(frozen=True)
class Session:
    """The exchange's trading day in its local wall time, ``open`` to ``close`` ("HH:MM" or "HH:MM:SS", open
    before close, within one calendar day); ValueError naming ``session`` otherwise."""

    open: str = "09:30"
    close: str = "16:00"

    def __post_init__(self) -> None:
        opens, closes = (_seconds_of_day(text) for text in (self.open, self.close))
        if not 0.0 <= opens < closes <= 86_400.0:
            raise ValueError(f"session: the open {self.open} must come before the close {self.close} within a day")

    @classmethod
    def parse(cls, text: str) -> "Session":
        """``"09:30-16:00"`` as a session."""
        opens, dash, closes = text.partition("-")
        if not dash:
            raise ValueError(f"session must be OPEN-CLOSE, e.g. 09:30-16:00, got {text!r}")
        return cls(opens.strip(), closes.strip())

    @property
    def seconds(self) -> float:
        """The session's length, seconds (23,400 for 09:30–16:00)."""
        return _seconds_of_day(self.close) - _seconds_of_day(self.open)

    def since_open(self, stamps: pd.Series) -> np.ndarray:
        """Seconds from each timestamp's day's open (negative before it)."""
        start = stamps.dt.normalize() + pd.Timedelta(seconds=_seconds_of_day(self.open))
        return (stamps - start).dt.total_seconds().to_numpy()

    def clock(self, seconds: float) -> str:
        """The time of day ``seconds`` after the open, "HH:MM"."""
        return f"{pd.Timestamp(0) + pd.Timedelta(seconds=_seconds_of_day(self.open) + seconds):%H:%M}"

    def __str__(self) -> str:
        return f"{self.open}–{self.close}"


REGULAR = Session()
"""The regular session of the US exchanges, 09:30–16:00 (6.5 hours)."""


def within_session(frame: pd.DataFrame, session: Session, stamped_at_end: bool = False) -> tuple[pd.DataFrame, int]:
    """(the rows of ``frame`` whose timestamps are within ``session``, how many were not): from the open to the
    close inclusive, or with ``stamped_at_end`` (bars, stamped at their end) after the open to the close."""
    since = session.since_open(frame["timestamp"])
    inside = ((since > 0.0) if stamped_at_end else (since >= 0.0)) & (since <= session.seconds)
    return frame[inside].reset_index(drop=True), int((~inside).sum())


def _where(path: Path, row: int | None = None, column: str | None = None) -> str:
    """``file`` or ``file, row r (line l), column c`` for messages (row 0-based here, 1-based in the text)."""
    text = str(path)
    if row is not None:
        text += f", row {row + 1}" + (f" (line {row + 2})" if _is_csv(path) else "")
    if column is not None:
        text += f", column {column!r}"
    return text


def _is_csv(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz"))


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def read_table(path: str | os.PathLike, kind: str, required: tuple[str, ...]) -> pd.DataFrame:
    """The file's columns (``required`` must be present), or DataError naming the file and what is missing."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such {kind} file")
    if _is_csv(path):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
            raise DataError(f"{path}: not a readable CSV {kind} file ({error})") from None
    elif _is_parquet(path):
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: not a readable Parquet {kind} file ({error})") from None
    else:
        raise DataError(f"{path}: a {kind} file must be .csv, .csv.gz, .parquet or .pq")
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; a {kind} file has columns {list(required)} "
                        f"(found {list(frame.columns)})")
    if frame.empty:
        raise DataError(f"{path}: the {kind} file has no rows")
    return frame.reset_index(drop=True)


def _numbers(frame: pd.DataFrame, path: Path, column: str, low: float, strict: bool) -> np.ndarray:
    """Column ``column`` as float64, every entry finite and > ``low`` (>= if not ``strict``), or DataError at
    the first that is not."""
    raw = frame[column]
    text = pd.api.types.is_string_dtype(raw) or pd.api.types.is_object_dtype(raw)
    values = pd.to_numeric(raw.astype(str).str.strip() if text else raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | ((values <= low) if strict else (values < low))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        relation = ">" if strict else ">="
        raise DataError(f"{_where(path, row, column)}: {frame[column].iloc[row]!r} is not a number {relation} {low:g}")
    return values


def _timestamps(frame: pd.DataFrame, path: Path, strictly: bool, groups: pd.Series | None = None) -> pd.Series:
    """The timestamp column as datetimes, sorted (increasing if ``strictly``, else non-decreasing; within each
    of ``groups`` if given), or DataError at the first row that is not."""
    raw = frame["timestamp"]
    try:
        if pd.api.types.is_string_dtype(raw) or pd.api.types.is_object_dtype(raw):
            stamps = pd.to_datetime(raw.astype(str).str.strip(), errors="coerce", format="ISO8601")
        else:
            stamps = pd.to_datetime(raw, errors="coerce")
    except ValueError as error:          # e.g. offsets that change within the file (a daylight-saving change)
        raise DataError(f"{_where(path, None, 'timestamp')}: {error}; write the exchange's local times, all with "
                        "one offset or none") from None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)      # the exchange's local wall time, as the estimators read it
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise DataError(f"{_where(path, row, 'timestamp')}: {raw.iloc[row]!r} is not a timestamp (ISO 8601, e.g. "
                        "2026-01-05 09:30:00.000001)")
    steps = stamps.groupby(groups).diff() if groups is not None else stamps.diff()
    steps = steps.dt.total_seconds().to_numpy()
    bad = (steps <= 0.0) if strictly else (steps < 0.0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "repeats" if steps[row] == 0.0 else "is earlier than"
        scope = " of the same order" if groups is not None else ""
        raise DataError(f"{_where(path, row, 'timestamp')}: {stamps.iloc[row]} {what} the row before{scope} "
                        f"(timestamps must {'increase' if strictly else 'not decrease'})")
    return stamps


def _signs(frame: pd.DataFrame, path: Path, column: str = "side") -> np.ndarray:
    """The side column as +1 (buy) or −1 (sell), or DataError at the first other value."""
    text = frame[column].astype(str).str.strip().str.lower()
    signs = text.map(SIDES)
    if signs.isna().any():
        row = int(np.flatnonzero(signs.isna().to_numpy())[0])
        raise DataError(f"{_where(path, row, column)}: {frame[column].iloc[row]!r} is not a side (buy or sell; "
                        "B or S; 1 or -1)")
    return signs.to_numpy(dtype=np.float64)


def read_trades(path: str | os.PathLike) -> pd.DataFrame:
    """A tape: timestamp, price, size and, if the file has it, side (+1 buy, −1 sell) (module docstring)."""
    path = Path(path)
    frame = read_table(path, "trades", TRADES)
    trades = pd.DataFrame({"timestamp": _timestamps(frame, path, strictly=False),
                           "price": _numbers(frame, path, "price", 0.0, strict=True),
                           "size": _numbers(frame, path, "size", 0.0, strict=True)})
    if "side" in frame.columns:
        trades["side"] = _signs(frame, path)
    return trades


def read_quotes(path: str | os.PathLike) -> pd.DataFrame:
    """Quotes: timestamp, bid, ask, bid_size, ask_size (module docstring); a crossed quote is refused."""
    path = Path(path)
    frame = read_table(path, "quotes", QUOTES)
    quotes = pd.DataFrame({"timestamp": _timestamps(frame, path, strictly=True),
                           "bid": _numbers(frame, path, "bid", 0.0, strict=True),
                           "ask": _numbers(frame, path, "ask", 0.0, strict=True),
                           "bid_size": _numbers(frame, path, "bid_size", 0.0, strict=False),
                           "ask_size": _numbers(frame, path, "ask_size", 0.0, strict=False)})
    crossed = quotes["bid"].to_numpy() > quotes["ask"].to_numpy()
    if crossed.any():
        row = int(np.flatnonzero(crossed)[0])
        raise DataError(f"{_where(path, row, 'bid')}: crossed quote, bid {quotes['bid'].iloc[row]:g} above ask "
                        f"{quotes['ask'].iloc[row]:g}")
    return quotes


def read_executions(path: str | os.PathLike) -> pd.DataFrame:
    """A desk's fills: order_id (text), timestamp, side (+1 buy, −1 sell), size, price (module docstring)."""
    path = Path(path)
    frame = read_table(path, "executions", EXECUTIONS)
    orders = frame["order_id"].astype(str).str.strip()
    fills = pd.DataFrame({"order_id": orders, "timestamp": _timestamps(frame, path, strictly=False, groups=orders),
                          "side": _signs(frame, path), "size": _numbers(frame, path, "size", 0.0, strict=True),
                          "price": _numbers(frame, path, "price", 0.0, strict=True)})
    sides = fills.groupby("order_id")["side"].transform("first").to_numpy()
    mixed = sides != fills["side"].to_numpy()
    if mixed.any():
        row = int(np.flatnonzero(mixed)[0])
        raise DataError(f"{_where(path, row, 'side')}: order {orders.iloc[row]!r} has fills on both sides (a "
                        "metaorder buys or sells)")
    return fills


def read_bars(path: str | os.PathLike) -> pd.DataFrame:
    """OHLCV bars, each stamped at its end, with vwap and spread if the file has them (module docstring)."""
    path = Path(path)
    frame = read_table(path, "bars", BARS)
    bars = pd.DataFrame({"timestamp": _timestamps(frame, path, strictly=True)})
    for column in ("open", "high", "low", "close"):
        bars[column] = _numbers(frame, path, column, 0.0, strict=True)
    bars["volume"] = _numbers(frame, path, "volume", 0.0, strict=False)
    for column in ("vwap", "spread"):
        if column in frame.columns:
            bars[column] = _numbers(frame, path, column, 0.0, strict=column == "vwap")
    low, high = bars["low"].to_numpy(), bars["high"].to_numpy()
    checks = [("high", high < np.maximum(bars["open"], bars["close"]), "below the open or the close"),
              ("low", low > np.minimum(bars["open"], bars["close"]), "above the open or the close")]
    if "vwap" in bars:
        checks.append(("vwap", (bars["vwap"] < low) | (bars["vwap"] > high), "outside [low, high]"))
    for column, bad, what in checks:
        bad = np.asarray(bad)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{_where(path, row, column)}: {bars[column].iloc[row]:g} is {what}")
    _require_one_bar_grid(bars, path)
    return bars


def _require_one_bar_grid(bars: pd.DataFrame, path: Path) -> None:
    """DataError unless every day has bars at the same times of day (the first day's)."""
    times = bars["timestamp"] - bars["timestamp"].dt.normalize()
    grids = times.groupby(bars["timestamp"].dt.date).apply(tuple)
    reference = grids.iloc[0]
    for day, grid in grids.items():
        if grid != reference:
            row = int(np.flatnonzero((bars["timestamp"].dt.date == day).to_numpy())[0])
            raise DataError(f"{_where(path, row, 'timestamp')}: the bars of {day} are at other times of day than "
                            f"those of {grids.index[0]} ({len(grid)} bars against {len(reference)}): every day "
                            "needs the same bar grid")


def days_of(frame: pd.DataFrame) -> set:
    """The calendar days of a frame's timestamps."""
    return set(frame["timestamp"].dt.date.unique())


def require_same_days(frames: dict[str, pd.DataFrame]) -> None:
    """DataError naming the files and the days one has and another lacks (a calibration's files must cover the
    same days)."""
    names = list(frames)
    days = {name: days_of(frame) for name, frame in frames.items()}
    for name in names[1:]:
        only_first, only_this = sorted(days[names[0]] - days[name]), sorted(days[name] - days[names[0]])
        if only_first or only_this:
            raise DataError(f"{names[0]} and {name} cover different days: only in {names[0]}: "
                            f"{[str(d) for d in only_first]}; only in {name}: {[str(d) for d in only_this]}")


def write_table(frame: pd.DataFrame, path: str | os.PathLike, header: bool = True) -> Path:
    """Write ``frame`` as CSV (with its header unless ``header`` is False) or Parquet, by the suffix, atomically
    (:func:`execgym.experiments.files.write_atomically`)."""
    path = Path(path)
    if not (_is_csv(path) or _is_parquet(path)):
        raise DataError(f"{path}: write .csv, .csv.gz, .parquet or .pq")
    path.parent.mkdir(parents=True, exist_ok=True)
    if _is_parquet(path):
        return write_atomically(path, lambda file: frame.to_parquet(file, index=False))
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    return write_atomically(path, lambda file: frame.to_csv(file, index=False, header=header,
                                                            compression=compression))
