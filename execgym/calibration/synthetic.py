"""A simulated stock whose true parameters are known: the data the calibration is tested on.

No market data can be shipped or downloaded, so the tests and the README's example calibrate on files written
by this simulator. It is a small limit-order-book model in continuous time, independent of execgym's envs (it
shares no code or discretisation with their steps), so calibration is never checked against itself:

* **the efficient price** m(t) moves as σ_W·W(t) over trading time (a day is one unit, 09:30–16:00), plus a
  permanent impact γ·q·s after every market order and every fill of the desk (q shares, sign s = +1 for a
  buy);
* **quotes** sit on a tick grid h around it: bid = ⌊(m − ε)/h⌋·h, ask = ⌈(m + ε)/h⌉·h, so the quoted half
  spread averages ε + h/2 and the quoted mid carries rounding noise; the feed records the quote every
  ``quote_interval`` seconds and after every market order, when it changed;
* **market orders** arrive as a Poisson process of ``daily_trades`` a day with a U-shaped intraday intensity
  ∝ 1 + c·(2u − 1)² (u the fraction of the day; with ``day_curvatures``, each day's c drawn from them: day
  types), lognormal sizes of mean ``mean_trade_size`` (log-sd
  ``size_dispersion``), buys and sells equally likely; each prints at the ask (buy) or the bid (sell) of the
  quote the efficient price implied just before it (with ``sweep_decay`` k, at an exponential depth of mean
  1/k beyond it, the last price it swept: a quote resting at depth δ from the mid is then reached at the rate
  A·e^{−kδ} per side, the market-making model's), then moves the price by γ·q·s;
* **the desk's metaorders** (``desk_orders_per_day``): a side, a size Q (a log-uniform fraction of the daily
  volume) and n child fills (uniform in ``desk_children``) every ``child_interval`` seconds, at a rate
  v = Q/(n·Δ) shares a day (Q rounded to whole shares per fill); each child pays the quote's half spread plus a temporary impact η'·v^α per share
  beyond it, and moves the price permanently like any trade. The desk's fills are in its executions file,
  not in the public tape.

:func:`simulate` plays ``days`` trading days and returns the tape, the quotes and the executions as pandas
DataFrames; :mod:`.formats` writes and reads them. The properties of :class:`SyntheticStock` are the truths a
calibration must recover: :attr:`~SyntheticStock.volatility` (of the quoted mid, per √day, the flow's
impact included), :attr:`~SyntheticStock.quoted_half_spread`, :attr:`~SyntheticStock.daily_volume`,
:meth:`~SyntheticStock.volume_profile`, ``permanent_impact``, ``temporary_impact`` and ``impact_exponent``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 23_400
"""A trading day, 09:30 to 16:00."""
OPEN = pd.Timedelta(hours=9, minutes=30)


@dataclass(frozen=True)
class SyntheticStock:
    """The true parameters of a simulated stock (module docstring). Units: currency, shares, trading days."""

    price: float = 50.0                 # S0, the efficient price at the first open
    annual_volatility: float = 0.30     # of the diffusive part: σ_W = price·annual_volatility/√250 per √day
    half_spread: float = 0.0135         # ε, currency (not a multiple of h/2: the quoted spread varies)
    tick: float = 0.01                  # h, currency
    daily_trades: float = 4_000.0       # market orders per day
    mean_trade_size: float = 500.0      # shares
    size_dispersion: float = 0.8        # the log-sd of the market orders' sizes
    sweep_decay: float | None = None    # k, per currency: a market order sweeps an Exp(k) depth beyond the touch
    market_loading: float = 0.0         # β in [−1, 1]: the diffusion's loading on a market factor (simulate_book)
    profile_curvature: float = 2.0      # c of the U-shaped intensity 1 + c·(2u − 1)²
    day_curvatures: tuple[float, ...] | None = None   # day types: each day's c drawn from these, equally likely
    permanent_impact: float = 3e-6      # γ, currency per share per share
    temporary_impact: float = 8e-5      # η', currency per share per (share/day)^α
    impact_exponent: float = 0.6        # α
    desk_orders_per_day: int = 40
    desk_sizes: tuple[float, float] = (0.002, 0.05)   # Q as a fraction of the daily volume, log-uniform
    desk_children: tuple[int, int] = (10, 90)         # child fills per metaorder, uniform
    child_interval: float = 60.0        # seconds between child fills
    quote_interval: float = 1.0         # seconds between quote records (besides those after each trade)
    days: int = 20
    start: str = "2026-01-05"           # the first day; then business days

    @property
    def diffusion(self) -> float:
        """σ_W, currency per share per √day."""
        return self.price * self.annual_volatility / math.sqrt(250.0)

    @property
    def daily_volume(self) -> float:
        """The public tape's expected shares a day: daily_trades × mean_trade_size."""
        return self.daily_trades * self.mean_trade_size

    @property
    def quoted_half_spread(self) -> float:
        """E[(ask − bid)/2] = ε + h/2 (the efficient price's position on the tick grid is uniform)."""
        return self.half_spread + self.tick / 2.0

    def arrival_rate(self) -> float:
        """A, market orders a day per side reaching a quote at depth 0 from the quoted mid (with ``sweep_decay``
        k): an order sweeps Exp(k) beyond the touch, at the quoted half spread h_q from the mid, so the rate of
        orders reaching depth δ is (N/2)·E[e^{−k(δ − h_q)}] = A·e^{−kδ}, A = (N/2)·E[e^{k·h_q}], the mean over
        the efficient price's uniform position f on the tick grid, where the spread is
        ⌈f + ε/h⌉ − ⌊f − ε/h⌋ ticks (a midpoint sum over 2·10⁵ positions: the spread is piecewise constant)."""
        k, h, ratio = self.sweep_decay, self.tick, self.half_spread / self.tick
        position = (np.arange(200_000) + 0.5) / 200_000
        ticks = np.ceil(position + ratio) - np.floor(position - ratio)
        return self.daily_trades / 2.0 * float(np.mean(np.exp(k * h * ticks / 2.0)))

    @property
    def volatility(self) -> float:
        """The volatility the desk faces, currency per share per √day: that of the efficient price net of the
        desk's own impact, √(σ_W² + γ²·N·E[q²]) with the market orders' E[q²] = mean_trade_size²·e^{s²}."""
        market = self.daily_trades * self.mean_trade_size**2 * math.exp(self.size_dispersion**2)
        return math.sqrt(self.diffusion**2 + self.permanent_impact**2 * market)

    def volume_profile(self, buckets: int, curvature: float | None = None) -> np.ndarray:
        """(buckets,) the expected fraction of a day's tape volume in each equal bucket of the day:
        ∫ (1 + c·(2u − 1)²) du over the bucket, normalised (F(u) = u + c·(2u − 1)³/6), c ``curvature``
        (default ``profile_curvature``)."""
        curvature = self.profile_curvature if curvature is None else curvature
        edges = np.linspace(0.0, 1.0, buckets + 1)
        cumulative = edges + curvature * (2.0 * edges - 1.0) ** 3 / 6.0
        return np.diff(cumulative) / (cumulative[-1] - cumulative[0])


@dataclass(frozen=True)
class SyntheticMarket:
    """What :func:`simulate` produced: the public tape, the quote feed and the desk's executions."""

    trades: pd.DataFrame       # timestamp, price, size, side (+1 buy, −1 sell: the truth Lee–Ready estimates)
    quotes: pd.DataFrame       # timestamp, bid, ask, bid_size, ask_size
    executions: pd.DataFrame   # order_id, timestamp, side (+1 buy, −1 sell), size, price


def _arrival_fractions(rng: np.random.Generator, count: int, curvature: float) -> np.ndarray:
    """``count`` sorted times in [0, 1) from the density ∝ 1 + c·(2u − 1)² (rejection sampling)."""
    accepted = np.empty(0)
    while accepted.size < count:
        u = rng.random(2 * count + 16)
        keep = rng.random(u.size) * (1.0 + curvature) < 1.0 + curvature * (2.0 * u - 1.0) ** 2
        accepted = np.concatenate([accepted, u[keep]])
    return np.sort(accepted[:count])


def _desk_orders(stock: SyntheticStock, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """One day's child fills of the desk: (times as fractions of the day, signs, sizes, order numbers within
    the day, temporary impact per share η'·v^α), sorted by time."""
    times, signs, sizes, orders, costs = [np.empty(0)], [np.empty(0)], [np.empty(0)], [np.empty(0)], [np.empty(0)]
    for order in range(stock.desk_orders_per_day):
        children = int(rng.integers(stock.desk_children[0], stock.desk_children[1] + 1))
        target = stock.daily_volume * stock.desk_sizes[0] * (stock.desk_sizes[1] / stock.desk_sizes[0]) ** rng.random()
        child = max(1.0, round(target / children))                               # whole shares per fill
        total = child * children
        duration = children * stock.child_interval / SECONDS_PER_DAY            # days
        start = rng.random() * (1.0 - duration)
        rate = total / duration                                                  # shares per day
        times.append(start + np.arange(children) * stock.child_interval / SECONDS_PER_DAY)
        signs.append(np.full(children, 1.0 if rng.random() < 0.5 else -1.0))
        sizes.append(np.full(children, child))
        orders.append(np.full(children, order))
        costs.append(np.full(children, stock.temporary_impact * rate**stock.impact_exponent))
    order = np.argsort(np.concatenate(times), kind="stable")
    return tuple(np.concatenate(parts)[order] for parts in (times, signs, sizes, orders, costs))


def _quote(stock: SyntheticStock, mid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bid, ask) on the tick grid around the efficient price ``mid``, in whole ticks (rounded to the cent's
    float nearest the grid)."""
    bid = np.floor((mid - stock.half_spread) / stock.tick) * stock.tick
    ask = np.ceil((mid + stock.half_spread) / stock.tick) * stock.tick
    return np.round(bid, 10), np.round(ask, 10)


FACTOR_STEPS = 23_400
"""The market factor's path is drawn every second and interpolated linearly between."""


def _day(stock: SyntheticStock, rng: np.random.Generator, day: pd.Timestamp, mid: float, first_order: int,
         factor: np.ndarray | None = None):
    """One trading day from the efficient price ``mid`` at the open: (tape, quotes, executions, the closing
    efficient price). With a ``factor`` path (a standard Brownian motion over the day at FACTOR_STEPS + 1
    points) the diffusion is σ_W·(β·factor + √(1 − β²)·its own)."""
    trades = int(rng.poisson(stock.daily_trades))
    curvature = stock.profile_curvature if stock.day_curvatures is None else \
        stock.day_curvatures[int(rng.integers(len(stock.day_curvatures)))]
    trade_times = _arrival_fractions(rng, trades, curvature)
    trade_signs = np.where(rng.random(trades) < 0.5, 1.0, -1.0)
    sweeps = rng.exponential(1.0 / stock.sweep_decay, trades) if stock.sweep_decay else np.zeros(trades)
    trade_sizes = np.maximum(1, np.rint(stock.mean_trade_size * np.exp(
        stock.size_dispersion * rng.standard_normal(trades) - stock.size_dispersion**2 / 2.0)))
    desk_times, desk_signs, desk_sizes, desk_orders, desk_costs = _desk_orders(stock, rng)
    grid = np.arange(0.0, SECONDS_PER_DAY, stock.quote_interval) / SECONDS_PER_DAY
    # every event of the day, in time order: kind 0 a quote record, 1 a market order, 2 a desk fill
    times = np.concatenate([grid, trade_times, desk_times])
    kinds = np.concatenate([np.zeros(grid.size), np.ones(trades), np.full(desk_times.size, 2.0)]).astype(int)
    signed = np.concatenate([np.zeros(grid.size), trade_signs * trade_sizes, desk_signs * desk_sizes])
    order = np.argsort(times, kind="stable")
    times, kinds, signed = times[order], kinds[order], signed[order]
    steps = np.diff(times, prepend=0.0)
    loading = stock.market_loading if factor is not None else 0.0
    diffusion = math.sqrt(1.0 - loading**2) * np.cumsum(np.sqrt(steps) * rng.standard_normal(times.size))
    if factor is not None:
        diffusion += loading * np.interp(times, np.linspace(0.0, 1.0, factor.size), factor)
    before = mid + stock.diffusion * diffusion \
        + stock.permanent_impact * (np.cumsum(signed) - signed)                 # just before each event
    after = before + stock.permanent_impact * signed
    bid_before, ask_before = _quote(stock, before)
    bid_after, ask_after = _quote(stock, after)
    stamps = day + OPEN + pd.to_timedelta(np.rint(times * SECONDS_PER_DAY * 1e6).astype(np.int64), unit="us")

    is_trade = kinds == 1
    sweep = np.concatenate([np.zeros(grid.size), sweeps, np.zeros(desk_times.size)])[order][is_trade]
    tape = pd.DataFrame({"timestamp": stamps[is_trade],
                         "price": np.where(signed[is_trade] > 0, ask_before[is_trade] + sweep,
                                           bid_before[is_trade] - sweep),
                         "size": np.abs(signed[is_trade]).astype(np.int64), "side": np.sign(signed[is_trade])})
    # quote records: at the grid, and one microsecond before and after each market order (the quote it hit,
    # and the impact's new one)
    microsecond = pd.Timedelta(1, unit="us")
    recorded = (kinds == 0) | is_trade
    quotes = pd.concat([
        pd.DataFrame({"timestamp": stamps[recorded] + pd.to_timedelta(is_trade[recorded].astype(np.int64), unit="us"),
                      "bid": bid_after[recorded], "ask": ask_after[recorded]}),
        pd.DataFrame({"timestamp": stamps[is_trade] - microsecond, "bid": bid_before[is_trade],
                      "ask": ask_before[is_trade]})], ignore_index=True)
    quotes = quotes.sort_values("timestamp", kind="stable").drop_duplicates("timestamp", keep="last")
    changed = (quotes[["bid", "ask"]].diff().abs().sum(axis=1) > 0).to_numpy().copy()
    changed[0] = True
    quotes = quotes[changed].reset_index(drop=True)
    depth = rng.integers(1, 50, size=(len(quotes), 2)) * 100
    quotes["bid_size"], quotes["ask_size"] = depth[:, 0], depth[:, 1]

    is_fill = kinds == 2
    sides = signed[is_fill] > 0
    # the desk's arrays are in time order, as its fills are among the sorted events
    fills = pd.DataFrame({"order_id": first_order + desk_orders.astype(np.int64), "timestamp": stamps[is_fill],
                          "side": np.where(sides, 1.0, -1.0), "size": np.abs(signed[is_fill]).astype(np.int64),
                          "price": np.where(sides, ask_before[is_fill] + desk_costs,
                                            bid_before[is_fill] - desk_costs)})
    rest = math.sqrt(1.0 - loading**2) * math.sqrt(1.0 - times[-1]) * rng.standard_normal()
    if factor is not None:
        rest += loading * (factor[-1] - np.interp(times[-1], np.linspace(0.0, 1.0, factor.size), factor))
    return tape, quotes, fills, float(after[-1] + stock.diffusion * rest)


def simulate(stock: SyntheticStock, seed: int, factors: list[np.ndarray] | None = None) -> SyntheticMarket:
    """``stock.days`` trading days (business days from ``stock.start``) of ``stock`` under ``seed``; with
    ``factors`` (one market-factor path a day, :func:`market_factor`) its diffusion loads ``market_loading`` on
    them."""
    rng = np.random.default_rng(seed)
    tapes, quotes, fills = [], [], []
    mid = stock.price
    for index, day in enumerate(pd.bdate_range(stock.start, periods=stock.days)):
        factor = None if factors is None else factors[index]
        tape, quote, fill, mid = _day(stock, rng, day, mid, index * stock.desk_orders_per_day, factor)
        tapes.append(tape), quotes.append(quote), fills.append(fill)
    return SyntheticMarket(pd.concat(tapes, ignore_index=True), pd.concat(quotes, ignore_index=True),
                           pd.concat(fills, ignore_index=True))


def market_factor(days: int, seed: int) -> list[np.ndarray]:
    """A standard Brownian motion over each of ``days`` trading days, at FACTOR_STEPS + 1 points from 0."""
    rng = np.random.default_rng(seed)
    return [np.concatenate([[0.0], np.cumsum(rng.standard_normal(FACTOR_STEPS))]) / math.sqrt(FACTOR_STEPS)
            for _ in range(days)]


def simulate_book(stocks: dict[str, SyntheticStock], seed: int) -> dict[str, SyntheticMarket]:
    """Several stocks over the same days whose efficient prices share one market factor (each loads its
    ``market_loading`` β on it): their diffusions correlate β_i·β_j. Stock i plays seed + 1 + i; the factor,
    seed. The truth of the covariance of stocks i ≠ j, currency² per day: β_i·β_j·σ_W,i·σ_W,j."""
    days = {stock.days for stock in stocks.values()}
    if len(days) != 1:
        raise ValueError(f"the stocks of a book must cover the same days, got {sorted(days)}")
    factors = market_factor(days.pop(), seed)
    return {name: simulate(stock, seed + 1 + index, factors) for index, (name, stock) in enumerate(stocks.items())}


def bars(market: SyntheticMarket, minutes: int = 30) -> pd.DataFrame:
    """OHLCV bars of the tape, stamped at their ends, with each bar's volume-weighted price (vwap) and its
    time-weighted quoted spread (the quote prevailing at every second of the bar)."""
    tape = market.trades.set_index("timestamp")
    grouped = tape.groupby(pd.Grouper(freq=f"{minutes}min", label="right", closed="left"))
    frame = grouped["price"].ohlc().join(grouped["size"].sum().rename("volume"))
    frame["vwap"] = (tape["price"] * tape["size"]).groupby(pd.Grouper(freq=f"{minutes}min", label="right",
                                                                       closed="left")).sum() / frame["volume"]
    quotes = market.quotes
    seconds = pd.date_range(quotes["timestamp"].iloc[0].floor("s"), quotes["timestamp"].iloc[-1], freq="s")
    index = np.searchsorted(quotes["timestamp"].to_numpy(), seconds.to_numpy(), side="right") - 1
    spread = pd.Series((quotes["ask"] - quotes["bid"]).to_numpy()[np.maximum(index, 0)], index=seconds)[index >= 0]
    frame["spread"] = spread.groupby(pd.Grouper(freq=f"{minutes}min", label="right", closed="left")).mean()
    frame = frame.dropna().reset_index()
    frame["timestamp"] = frame["timestamp"].astype("datetime64[us]")
    return frame


def write_book_sample(stocks: dict[str, SyntheticStock], seed: int, folder) -> dict[str, Path]:
    """Write :func:`simulate_book`'s stocks into ``folder/<name>/``: each one's ``trades.csv.gz`` (no side) and
    ``quotes.parquet``; returns the paths."""
    from execgym.calibration.formats import write_table

    written = {}
    for name, market in simulate_book(stocks, seed).items():
        written[f"{name} trades"] = write_table(market.trades.drop(columns="side"), Path(folder) / name / "trades.csv.gz")
        written[f"{name} quotes"] = write_table(market.quotes, Path(folder) / name / "quotes.parquet")
    return written


def write_sample(stock: SyntheticStock, seed: int, folder, kind: str = "trades") -> dict[str, Path]:
    """Write :func:`simulate`'s data into ``folder`` as a desk would have it; returns the paths. ``kind``
    "trades": ``trades.csv.gz`` (no side: the calibration infers it), ``quotes.parquet`` and ``executions.csv``
    (sides as buy/sell); "lobster": a level-1 LOBSTER message and order-book file per day
    (:func:`~.lobster.write_lobster`); "bars": ``bars.csv``, 30-minute bars (:func:`bars`)."""
    from execgym.calibration.formats import write_table
    from execgym.calibration.lobster import write_lobster

    market = simulate(stock, seed)
    folder = Path(folder)
    if kind == "bars":
        return {"bars": write_table(bars(market), folder / "bars.csv")}
    if kind == "lobster":
        days = market.trades["timestamp"].dt.normalize()
        quote_days = market.quotes["timestamp"].dt.normalize()
        written = {}
        for day in days.unique():
            message, book = write_lobster(market.trades[days == day], market.quotes[quote_days == day], folder)
            written[f"message {day.date()}"], written[f"orderbook {day.date()}"] = message, book
        return written
    fills = market.executions.assign(side=np.where(market.executions["side"] > 0, "buy", "sell"))
    return {"trades": write_table(market.trades.drop(columns="side"), folder / "trades.csv.gz"),
            "quotes": write_table(market.quotes, folder / "quotes.parquet"),
            "executions": write_table(fills, folder / "executions.csv")}
