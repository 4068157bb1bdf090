"""LOBSTER files (lobsterdata.com, the academic limit-order-book format): one trading day of one stock as a
message file and an order-book file of the same number of rows, neither with a header, both named
``TICKER_YYYY-MM-DD_START_END_message_LEVELS.csv`` / ``..._orderbook_LEVELS.csv``.

Message file, one event a row: time (seconds after midnight, decimals to the nanosecond), type (1 submission,
2 partial cancellation, 3 deletion, 4 execution of a visible order, 5 execution of a hidden order, 7 trading
halt), order id, size (shares), price (currency × 10,000) and direction (−1 a sell limit order, 1 a buy limit
order: an execution's direction is the resting order's, so the trade's aggressor sign is its opposite).

Order-book file, the book after each message: for each level 1..L, ask price, ask size, bid price, bid size
(prices × 10,000; an empty level has price 9999999999 on the ask side, −9999999999 on the bid side).

:func:`read_lobster` gives the day's trades (one per market order: executions of types 4 and 5 of one time and
direction are one order; a visible one with its aggressor side, a hidden one's side unknown) and quotes
(the best bid and ask after each message that changed them) in the frames of :mod:`.formats`, or raises
:class:`~.formats.DataError` naming the file, the row and the column. :func:`write_lobster` writes one day
of trades and quotes as level-1 LOBSTER files (the simulator's sample).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from execgym.calibration.formats import DataError, write_table

MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
EVENT_TYPES = (1, 2, 3, 4, 5, 6, 7)
EXECUTIONS = (4, 5)
PRICE_SCALE = 10_000.0
EMPTY_ASK, EMPTY_BID = 9_999_999_999, -9_999_999_999
NAME = re.compile(r"(?P<ticker>[^_]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
                  r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv$")


def _name_parts(path: Path, kind: str) -> re.Match:
    match = NAME.search(path.name)
    if match is None or match["kind"] != kind:
        raise DataError(f"{path}: not a LOBSTER {kind} file name (TICKER_YYYY-MM-DD_START_END_{kind}_LEVELS.csv)")
    return match


def _read_numbers(path: Path, columns: int, kind: str) -> np.ndarray:
    """The headerless CSV as a float64 (rows, columns) array, or DataError naming the row and column."""
    if not path.is_file():
        raise DataError(f"{path}: no such LOBSTER {kind} file")
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable LOBSTER {kind} file ({error})") from None
    if frame.shape[1] != columns:
        raise DataError(f"{path}: a LOBSTER {kind} file here has {columns} columns, found {frame.shape[1]}")
    values = frame.apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce")).to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{path}, row {row + 1} (line {row + 1}), column {column + 1}: {frame.iat[row, column]!r} is "
                        "not a number")
    return values


def _fail(path: Path, row: int, column: str, text: str) -> DataError:
    return DataError(f"{path}, row {row + 1} (line {row + 1}), column {column!r}: {text}")


def read_lobster(message_path, orderbook_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trades, quotes) of one LOBSTER day (module docstring)."""
    message_path, orderbook_path = Path(message_path), Path(orderbook_path)
    message_name = _name_parts(message_path, "message")
    book_name = _name_parts(orderbook_path, "orderbook")
    if (message_name["ticker"], message_name["date"]) != (book_name["ticker"], book_name["date"]):
        raise DataError(f"{message_path} and {orderbook_path} are of different days or stocks "
                        f"({message_name['ticker']} {message_name['date']} against {book_name['ticker']} "
                        f"{book_name['date']}): a message file goes with the order book of its day")
    levels = int(book_name["levels"])
    messages = _read_numbers(message_path, len(MESSAGE_COLUMNS), "message")
    book = _read_numbers(orderbook_path, 4 * levels, "orderbook")
    if book.shape[0] != messages.shape[0]:
        raise DataError(f"{orderbook_path}: {book.shape[0]} rows against {messages.shape[0]} in {message_path}: the "
                        "order book has one row per message")
    time, kind, size, price = messages[:, 0], messages[:, 1], messages[:, 3], messages[:, 4]
    checks = [("time", np.diff(time, prepend=time[0]) < 0, "earlier than the row before"),
              ("time", (time < 0) | (time >= 86_400), "outside the day (0 to 86,400 seconds after midnight)"),
              ("type", ~np.isin(kind, EVENT_TYPES), f"not an event type {list(EVENT_TYPES)}"),
              ("size", (size <= 0) & (kind != 7), "not a positive size"),
              ("price", (price <= 0) & (kind != 7), "not a positive price"),
              ("direction", ~np.isin(messages[:, 5], (-1, 1)), "not a direction (-1 or 1)")]
    for column, bad, text in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _fail(message_path, row, column, f"{messages[row, MESSAGE_COLUMNS.index(column)]:g} is {text}")
    ask, bid = book[:, 0], book[:, 2]
    present = (ask != EMPTY_ASK) & (bid != EMPTY_BID)
    crossed = present & (bid > ask)
    if crossed.any():
        row = int(np.flatnonzero(crossed)[0])
        raise _fail(orderbook_path, row, "bid price 1", f"crossed book, bid {bid[row] / PRICE_SCALE:g} above ask "
                    f"{ask[row] / PRICE_SCALE:g}")
    day = pd.Timestamp(message_name["date"])
    stamps = day + pd.to_timedelta(np.rint(time * 1e9).astype(np.int64), unit="ns")
    executed = np.isin(kind, EXECUTIONS)
    trades = _market_orders(stamps[executed], kind[executed], price[executed] / PRICE_SCALE, size[executed],
                            messages[executed, 5])
    changed = present & (np.r_[True, (np.diff(ask) != 0) | (np.diff(bid) != 0)])
    quotes = pd.DataFrame({"timestamp": stamps[changed], "bid": bid[changed] / PRICE_SCALE,
                           "ask": ask[changed] / PRICE_SCALE, "bid_size": book[changed, 3],
                           "ask_size": book[changed, 1]})
    quotes = quotes.drop_duplicates("timestamp", keep="last").reset_index(drop=True)
    return trades.reset_index(drop=True), quotes


def _market_orders(stamps, kind, price, size, direction) -> pd.DataFrame:
    """One trade per market order: consecutive executions of one type with the same time and direction are
    one order sweeping several resting orders (its size their sum, its price the last, deepest, one). A visible
    execution's aggressor is the resting order's opposite; a hidden one's side is unknown (NASDAQ reports hidden
    executions as buys), so NaN, for the calibration to infer (:func:`~.estimates.trade_signs`)."""
    new = np.r_[True, (stamps[1:] != stamps[:-1]) | (direction[1:] != direction[:-1]) | (kind[1:] != kind[:-1])]
    order = np.cumsum(new) - 1
    frame = pd.DataFrame({"order": order, "timestamp": stamps, "price": price, "size": size,
                          "side": np.where(kind == 4, -direction, np.nan)})
    grouped = frame.groupby("order", sort=True)
    return pd.DataFrame({"timestamp": grouped["timestamp"].first().to_numpy(),
                         "price": grouped["price"].last().to_numpy(), "size": grouped["size"].sum().to_numpy(),
                         "side": grouped["side"].first().to_numpy()})


def write_lobster(trades: pd.DataFrame, quotes: pd.DataFrame, folder, ticker: str = "SYNTH") -> tuple[Path, Path]:
    """One day of ``trades`` (with sides) and ``quotes`` as level-1 LOBSTER files in ``folder``: a submission
    (type 1) at the new best price for each quote, an execution (type 4) for each trade, against a resting
    order of the opposite direction, with the book after each message; returns (message, order book) paths."""
    day = trades["timestamp"].iloc[0].normalize()
    if (trades["timestamp"].dt.normalize() != day).any() or (quotes["timestamp"].dt.normalize() != day).any():
        raise ValueError("write_lobster writes one day: trades and quotes of one date")
    events = pd.concat([
        quotes.assign(kind=1, order=0),
        trades.assign(kind=4, order=1)], ignore_index=True).sort_values(["timestamp", "order"], kind="stable")
    book = quotes.set_index("timestamp")[["ask", "ask_size", "bid", "bid_size"]]
    after = book.reindex(events["timestamp"], method="ffill").to_numpy()
    seconds = (events["timestamp"] - day).dt.total_seconds().to_numpy()
    is_trade = (events["kind"] == 4).to_numpy()
    price = np.where(is_trade, events["price"], np.where(events["ask"].notna(), events["ask"], 0.0))
    size = np.where(is_trade, events["size"], events["ask_size"].fillna(0.0))
    direction = np.where(is_trade, -events["side"].fillna(1.0), -1.0)
    messages = pd.DataFrame({"time": seconds, "type": events["kind"].to_numpy(), "order_id": np.arange(len(events)) + 1,
                             "size": size.astype(np.int64), "price": np.rint(price * PRICE_SCALE).astype(np.int64),
                             "direction": direction.astype(np.int64)})
    levels = pd.DataFrame({"ask": np.rint(after[:, 0] * PRICE_SCALE).astype(np.int64),
                           "ask_size": after[:, 1].astype(np.int64),
                           "bid": np.rint(after[:, 2] * PRICE_SCALE).astype(np.int64),
                           "bid_size": after[:, 3].astype(np.int64)})
    stem = f"{ticker}_{day.date()}_34200000_57600000"
    folder = Path(folder)
    message_path, book_path = folder / f"{stem}_message_1.csv", folder / f"{stem}_orderbook_1.csv"
    write_table(messages, message_path, header=False)
    write_table(levels, book_path, header=False)
    return message_path, book_path
