"""A stock's market data found in a folder (or given file by file), read and checked: trades and quotes (or a
LOBSTER day per message/order-book pair), a desk's executions, or OHLCV bars; the rows within the trading
session kept, the others counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from execgym.calibration import formats
from execgym.calibration.lobster import read_lobster

KINDS = ("trades", "quotes", "executions", "bars")
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@dataclass(frozen=True)
class MarketData:
    """What was read within the ``session``, each frame None where absent, and the files it came from (kind ->
    path text; under "session", the session and how many rows of each file were outside it)."""

    trades: pd.DataFrame | None = None
    quotes: pd.DataFrame | None = None
    executions: pd.DataFrame | None = None
    bars: pd.DataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)
    session: formats.Session = formats.REGULAR


def _find(folder: Path, kind: str) -> Path | None:
    """``folder/kind.<suffix>``, or None; ValueError if there are several."""
    found = [folder / f"{kind}{suffix}" for suffix in SUFFIXES if (folder / f"{kind}{suffix}").is_file()]
    if len(found) > 1:
        raise ValueError(f"{folder}: several {kind} files {[str(path) for path in found]}; keep one or pass --{kind}")
    return found[0] if found else None


def _lobster_days(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, str] | None:
    """Every LOBSTER day in ``folder`` (its message files and their order books), as one tape and one quote
    feed; None if there are none."""
    messages = sorted(folder.glob("*_message_*.csv"))
    if not messages:
        return None
    tickers = sorted({message.name.split("_")[0] for message in messages})
    if len(tickers) > 1:
        raise ValueError(f"{folder}: LOBSTER files of several stocks {tickers}: one stock a folder")
    trades, quotes = [], []
    for message in messages:
        book = message.with_name(message.name.replace("_message_", "_orderbook_"))
        day_trades, day_quotes = read_lobster(message, book)
        trades.append(day_trades), quotes.append(day_quotes)
    return (pd.concat(trades, ignore_index=True), pd.concat(quotes, ignore_index=True),
            f"{len(messages)} LOBSTER day(s) in {folder}")


def load(folder: Path | None = None, session: formats.Session = formats.REGULAR, **files: Path | None) -> MarketData:
    """Read the data in ``folder`` (``trades``, ``quotes``, ``executions``, ``bars`` files, or LOBSTER pairs in
    place of trades and quotes), each file given in ``files`` taking precedence; checked
    (:mod:`.formats`: clear errors naming file, row and column), trades and quotes on the same days, each
    frame's rows outside ``session`` left out and counted (:func:`~.formats.within_session`). ValueError when
    neither trades with quotes nor bars are there, or a file has no row within the session."""
    paths = {kind: files.get(kind) or (_find(folder, kind) if folder is not None else None) for kind in KINDS}
    frames, sources = {}, {}
    lobster = _lobster_days(folder) if folder is not None and paths["trades"] is None else None
    if lobster is not None:
        frames["trades"], frames["quotes"], sources["lobster"] = lobster
    for kind in KINDS:
        if kind not in frames and paths[kind] is not None:
            frames[kind] = getattr(formats, f"read_{kind}")(paths[kind])
            sources[kind] = str(paths[kind])
    frames, left_out = _within(frames, sources, session)
    sources["session"] = f"{session} (exchange local time)" + (
        "; outside it, left out: " + ", ".join(f"{count} {kind} rows" for kind, count in left_out.items() if count)
        if any(left_out.values()) else "")
    if ("trades" in frames) != ("quotes" in frames):
        have, lack = ("trades", "quotes") if "trades" in frames else ("quotes", "trades")
        raise ValueError(f"{have} without {lack}: give both (or LOBSTER files, or bars)")
    if "trades" not in frames and "bars" not in frames:
        where = f" in {folder}" if folder is not None else ""
        raise ValueError(f"no market data{where}: trades.csv with quotes.csv (or .parquet), LOBSTER message and "
                         "orderbook files, or bars.csv")
    if "trades" in frames:
        formats.require_same_days({sources.get("trades", sources.get("lobster")): frames["trades"],
                                   sources.get("quotes", "the LOBSTER order books"): frames["quotes"]})
    if "executions" in frames and "quotes" in frames:
        missing = sorted(formats.days_of(frames["executions"]) - formats.days_of(frames["quotes"]))
        if missing:
            raise formats.DataError(f"{sources['executions']}: executions on days without quotes "
                                    f"{[str(day) for day in missing]}: their arrival prices are unknown")
    return MarketData(**frames, sources=sources, session=session)


def _within(frames: dict[str, pd.DataFrame], sources: dict[str, str],
            session: formats.Session) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Each frame's rows within ``session`` and how many of each were not; DataError naming the file that has
    none within it."""
    kept, left_out = {}, {}
    for kind, frame in frames.items():
        kept[kind], left_out[kind] = formats.within_session(frame, session, stamped_at_end=kind == "bars")
        if kept[kind].empty:
            source = sources.get(kind, sources.get("lobster"))
            raise formats.DataError(f"{source}: no {kind} row within the session {session} (exchange local time); "
                                    "give the session of the data's exchange")
    return kept, left_out
