"""Dynamics of OptimalExec: one period of one episode, and of a whole batch of episodes.

Notation (all per episode of the batch): k periods elapsed, x shares still to
trade, S the mid-price, s = +1 for a sell and −1 for a buy, n⁻ the previous
period's trade (0 before the first). One period, with f ∈ [0, 1] the action's
position in the period's trade range [lo, hi] (see :func:`trade_range`) and
ξ ~ N(0, 1) the period's price shock::

    n      = lo + f·(hi − lo)                          shares traded (negative: against the order's side)
    g      = ε + η_k·v̄·(|n|/(τ·v̄))^α                    cost per share (η_k·|n|/τ + ε for α = 1)
    S̃      = S − s·sign(n)·g                            execution price
    x'     = x − n
    ΔS     = (φ − 1)(S − μ̄) + μτ + σ_τ·ξ − s·γ·n        mid-price move
    cost   = |n|·g − s·ΔS·x'                            implementation-shortfall increment, currency
    reward = −(cost + λσ_τ²·x'² + c·(n − n⁻)²·[k > 0] + ρ·x'²·[last, soft target]) · 10⁴/(X·S0)

with φ = e^{−θτ} and σ_τ the period's shock scale (φ = 1, σ_τ = σ√τ for the
random walk, θ = 0; see :class:`OptimalExecParams`). The bracket's penalties
are the risk term, the smoothness term and the soft target's penalty on what
is left.

The cost telescopes: summed over the episode it is the implementation
shortfall s·(X·S0 − Σ n·S̃ − x_N·S_N) (the last term is zero when the order
completes), and E[Σ reward] is minus the objective the oracle minimises (see
:mod:`execgym.problems.optimal_exec.env`).

The period is written once, for one episode, in plain Python on floats
(:func:`advance`, with :func:`trade_bounds` and :func:`unit_cost`). The scalar
env calls it as it is; :func:`step` runs it over a batch compiled by numba
(``register_jitable``), so the two give the same bits. The functions read the
params through :class:`Variant` (which model variants are on: compile-time
constants of the compiled loop), :class:`Market` (the numbers) and
:class:`Schedules` (the per-period lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys, standard_normals
from execgym.problems.optimal_exec.params import OptimalExecParams


class Variant(NamedTuple):
    """Which model variants the params turn on. The compiled batch loop takes these flags as compile-time
    constants (:func:`_step_loop`), so the other variants' branches are compiled out."""

    linear: bool      # α = 1 and no table
    tabled: bool      # cost per share from impact_table
    capped: bool      # trade_caps given
    two_way: bool
    completes: bool   # False with a soft target
    smooth: bool      # smoothness > 0: penalty on trade changes, previous trade observed


class Market(NamedTuple):
    """The params' numbers as the period's arithmetic reads them (plain scalars; the per-period lists are
    :class:`Schedules`, kept apart because numba copies a tuple holding arrays on every call)."""

    periods: int
    side: float               # s: +1 sell, −1 buy
    shares: float             # X
    arrival_price: float      # S0
    price_scale: float        # σ√T (observation scale)
    tau: float                # period length, days
    half_spread: float        # ε
    exponent: float           # α
    average_rate: float       # v̄ = X/T
    table_levels: int         # L
    trade_bound: float        # m·X, two-way trade bound
    permanent: float          # γ
    reversion: float          # φ − 1
    long_run_price: float     # μ̄
    drift_step: float         # μτ
    shock_scale: float        # σ_τ
    risk: float               # λσ_τ²
    smoothness: float         # c
    target_penalty: float     # ρ (0 without a soft target)
    bps: float                # 10⁴/(X·S0)
    inverse_periods: float    # 1/N, 1/X and 1/(σ√T): observations multiply (4x faster than dividing)
    inverse_shares: float
    inverse_price_scale: float


class Schedules(NamedTuple):
    """The params' per-period lists: tuples for plain Python (the scalar env), float64 arrays for the
    compiled batch; the table is an array in both."""

    impact: object      # η_k (N,)
    caps: object        # u_k (N,), +inf without caps
    later_caps: object  # Σ_{j>k} u_j (N,)
    table: object       # impact_table (N, L); a (1, 2) placeholder without one


def variant(params: OptimalExecParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(linear=params.impact_exponent == 1.0 and params.impact_table is None,
                   tabled=params.impact_table is not None, capped=params.trade_caps is not None,
                   two_way=params.two_way, completes=params.completes, smooth=params.smoothness > 0.0)


def _market(params: OptimalExecParams) -> Market:
    return Market(
        periods=params.periods, side=float(params.side_sign), shares=params.shares,
        arrival_price=params.arrival_price, price_scale=params.price_scale, tau=params.tau,
        half_spread=params.half_spread, exponent=params.impact_exponent, average_rate=params.average_rate,
        table_levels=2 if params.impact_table is None else len(params.impact_table[0]),
        trade_bound=params.max_trade * params.shares, permanent=params.permanent_impact,
        reversion=params.reversion_factor - 1.0, long_run_price=params.long_run_price,
        drift_step=params.drift * params.tau, shock_scale=params.shock_scale,
        risk=params.risk_aversion * params.shock_scale**2, smoothness=params.smoothness,
        target_penalty=params.target_penalty or 0.0, bps=params.bps_per_currency,
        inverse_periods=1.0 / params.periods, inverse_shares=1.0 / params.shares,
        inverse_price_scale=1.0 / params.price_scale)


def _schedules(params: OptimalExecParams) -> Schedules:
    caps = params.caps
    table = np.zeros((1, 2)) if params.impact_table is None else np.asarray(params.impact_table, dtype=np.float64)
    return Schedules(impact=params.impact_per_period, caps=caps,
                     later_caps=np.append(np.cumsum(caps[::-1])[::-1][1:], 0.0), table=table)


def _as_tuple(array: np.ndarray) -> tuple | np.ndarray:
    """A list of numbers as a tuple of floats (indexed fastest by plain Python); a table stays an array,
    indexed [k, level] by both forms."""
    return tuple(array.tolist()) if array.ndim == 1 else array


@lru_cache(maxsize=64)
def scalar_market(params: OptimalExecParams) -> tuple[Variant, Market, Schedules]:
    """(:class:`Variant`, :class:`Market`, :class:`Schedules` of tuples): the fastest form for plain Python."""
    return variant(params), _market(params), Schedules(*(_as_tuple(array) for array in _schedules(params)))


@lru_cache(maxsize=64)
def batch_market(params: OptimalExecParams) -> tuple[Variant, Market, Schedules]:
    """(:class:`Variant`, :class:`Market`, :class:`Schedules` of float64 arrays): the form numba compiles
    (once per variant for the step, once for all params elsewhere)."""
    return variant(params), _market(params), Schedules(*(np.ascontiguousarray(array, dtype=np.float64)
                                        for array in _schedules(params)))


NAN_ACTION = "action contains NaN; actions must be numbers in [-1, 1]"


@register_jitable(inline="always")
def fraction_of(action: float) -> float:
    """The action's position in the trade range: f = (clip(a, −1, 1) + 1)/2, so a = −1 trades the range's
    low end and a = +1 its high end (actions outside [−1, 1] are clipped)."""
    clipped = -1.0 if action < -1.0 else (1.0 if action > 1.0 else action)
    return 0.5 * (clipped + 1.0)


def action_to_fraction(actions: np.ndarray) -> np.ndarray:
    """:func:`fraction_of` of every action (an array of real numbers), in one compiled pass; NaN raises."""
    actions = np.asarray(actions)
    fractions, finite = _fractions_of(actions.ravel())
    if not finite:
        raise ValueError(NAN_ACTION)
    return fractions.reshape(actions.shape)


@numba.njit(cache=True)
def _fractions_of(actions):
    fractions, finite = np.empty(actions.size), True
    for i in range(actions.size):
        action = np.float64(actions[i])
        finite = finite and action == action
        fractions[i] = fraction_of(action)
    return fractions, finite


def fraction_to_action(fractions: np.ndarray) -> np.ndarray:
    """Inverse of :func:`action_to_fraction` on [0, 1]: a = 2f − 1."""
    return 2.0 * np.asarray(fractions, dtype=np.float64) - 1.0


@register_jitable(inline="always")
def trade_bounds(v: Variant, m: Market, caps, later_caps, k: int, x: float) -> tuple[float, float]:
    """(lo, hi): the trades period k allows from inventory x, shares.

    * one-way (default): hi = min(x, u_k) and lo = max(0, x − Σ_{j>k} u_j), the least trade that
      leaves the later caps able to finish the order. Without caps that is [0, x] before the last
      period and [x, x] in it, so f is the fraction of the remaining shares traded. With a soft
      target (``target_penalty``) nothing is forced: lo = 0.
    * two-way: [−m·X, m·X] (m = ``max_trade``), and [x, x] in the last period unless the target is soft.
    """
    last = k >= m.periods - 1
    if v.two_way:
        if last and v.completes:
            return x, x
        return -m.trade_bound, m.trade_bound
    if not v.capped:
        return (x if last and v.completes else 0.0), x
    period = k if k < m.periods else m.periods - 1
    hi = x if x < caps[period] else caps[period]     # conditionals: numba's float min and max are slow
    if not v.completes:
        return 0.0, hi
    lo = x - later_caps[period]
    lo = 0.0 if lo < 0.0 else lo
    return (lo if lo < hi else hi), hi


@register_jitable(inline="always")
def unit_cost(v: Variant, m: Market, impact, table, k: int, size: float) -> float:
    """g = ε + η_k·v̄·(size/(τ·v̄))^α: the cost per share of trading ``size`` shares in period k (currency
    per share; ε + η_k·size/τ for α = 1); with an ``impact_table``, ε plus the table's row k interpolated
    linearly at size/X."""
    if v.tabled:
        position = size / m.shares * (m.table_levels - 1)
        left = int(position)
        left = left if left < m.table_levels - 2 else m.table_levels - 2
        weight = position - left
        return m.half_spread + (1.0 - weight) * table[k, left] + weight * table[k, left + 1]
    if v.linear:
        return m.half_spread + impact[k] * size / m.tau
    rate = m.average_rate
    return m.half_spread + impact[k] * rate * (size / (m.tau * rate)) ** m.exponent


@register_jitable(inline="always")
def advance(v: Variant, m: Market, impact, caps, later_caps, table, k: int, x: float, price: float, last_trade: float,
            shock: float, fraction: float):
    """One period of one episode from (k, x, S, n⁻) with price shock ξ, trading at position ``fraction`` of
    the trade range (module docstring); ``impact``, ``caps``, ``later_caps``, ``table`` are the
    :class:`Schedules`. Returns (n, g, x', ΔS, cost, penalty, reward, execution price)."""
    lo, hi = trade_bounds(v, m, caps, later_caps, k, x)
    traded = lo + fraction * (hi - lo)
    cost_per_share = unit_cost(v, m, impact, table, k, abs(traded))
    remaining = x - traded
    move = (m.reversion * (price - m.long_run_price) + m.drift_step + m.shock_scale * shock
            - m.side * m.permanent * traded)
    cost = abs(traded) * cost_per_share - m.side * move * remaining
    penalty = m.risk * (remaining * remaining)
    if v.smooth and k > 0:
        penalty += m.smoothness * ((traded - last_trade) * (traded - last_trade))
    if not v.completes and k == m.periods - 1:
        penalty += m.target_penalty * (remaining * remaining)
    direction = -m.side if traded < 0.0 else m.side
    return (traded, cost_per_share, remaining, move, cost, penalty, -(cost + penalty) * m.bps,
            price - direction * cost_per_share)


@register_jitable(inline="always")
def write_observation(v: Variant, m: Market, k: int, x: float, price: float, last_trade: float, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32): [time remaining (N−k)/N, inventory remaining x/X,
    price move since arrival (S − S0)/(σ√T)]; with ``smoothness`` > 0 a fourth entry, the previous
    trade n⁻/X."""
    out[row, 0] = (m.periods - k) * m.inverse_periods
    out[row, 1] = x * m.inverse_shares
    out[row, 2] = (price - m.arrival_price) * m.inverse_price_scale
    if v.smooth:
        out[row, 3] = last_trade * m.inverse_shares


def trade_range(params: OptimalExecParams, elapsed: np.ndarray, inventory: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) arrays: :func:`trade_bounds` of period ``elapsed`` from ``inventory`` x, elementwise."""
    elapsed, inventory = np.broadcast_arrays(np.asarray(elapsed, dtype=np.int64),
                                             np.asarray(inventory, dtype=np.float64))
    v, m, schedules = batch_market(params)
    lo, hi = _trade_ranges(v, m, schedules.caps, schedules.later_caps, elapsed.ravel(), inventory.ravel())
    return lo.reshape(elapsed.shape), hi.reshape(elapsed.shape)


@numba.njit(cache=True)
def _trade_ranges(v, m, caps, later_caps, elapsed, inventory):
    lo, hi = np.empty(elapsed.size), np.empty(elapsed.size)
    for i in range(elapsed.size):
        lo[i], hi[i] = trade_bounds(v, m, caps, later_caps, elapsed[i], inventory[i])
    return lo, hi


def unit_costs(params: OptimalExecParams, elapsed: np.ndarray, traded: np.ndarray) -> np.ndarray:
    """:func:`unit_cost` of trading ``traded`` shares in period ``elapsed``, elementwise (broadcast)."""
    elapsed, size = np.broadcast_arrays(np.asarray(elapsed, dtype=np.int64), np.abs(np.asarray(traded, float)))
    v, m, schedules = batch_market(params)
    return _unit_costs(v, m, schedules.impact, schedules.table, elapsed.ravel(), size.ravel()).reshape(elapsed.shape)


@numba.njit(cache=True)
def _unit_costs(v, m, impact, table, elapsed, size):
    out = np.empty(elapsed.size)
    for i in range(elapsed.size):
        out[i] = unit_cost(v, m, impact, table, elapsed[i], size[i])
    return out


def trade_to_action(params: OptimalExecParams, elapsed: np.ndarray, inventory: np.ndarray,
                    trades: np.ndarray) -> np.ndarray:
    """The actions (n,) that trade ``trades`` shares from (``elapsed``, ``inventory``): a = 2f − 1 with
    f = (n − lo)/(hi − lo), clipped to the trade range (and 0 where the range is a single point)."""
    lo, hi = trade_range(params, elapsed, inventory)
    width = hi - lo
    fraction = np.where(width > 0, (np.asarray(trades, dtype=np.float64) - lo) / np.where(width > 0, width, 1.0),
                        0.0)
    return fraction_to_action(np.clip(fraction, 0.0, 1.0))


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes; every field has shape (n,)."""

    seed: np.ndarray       # uint64: the seed the episode stream was started from
    episode: np.ndarray    # uint64: episode number within that stream (0, 1, ...)
    key: np.ndarray        # uint64: noise key of the current episode
    elapsed: np.ndarray    # int64: periods done, 0..N
    inventory: np.ndarray  # float64: shares still to trade
    price: np.ndarray      # float64: mid-price S_k, currency per share
    shortfall: np.ndarray  # float64: implementation shortfall so far, currency
    last_trade: np.ndarray  # float64: shares traded in the previous period (0 before the first)

    def __len__(self) -> int:
        return self.elapsed.shape[0]


def start(params: OptimalExecParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    n = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(n, dtype=np.int64), inventory=np.full(n, params.shares),
                 price=np.full(n, params.arrival_price), shortfall=np.zeros(n), last_trade=np.zeros(n))


def observe(params: OptimalExecParams, batch: Batch) -> np.ndarray:
    """Observations (n, 3 or 4), float32: :func:`write_observation` of every episode."""
    obs = np.empty((len(batch), params.observation_size), dtype=np.float32)
    _observe(*batch_market(params)[:2], batch.elapsed, batch.inventory, batch.price, batch.last_trade, obs)
    return obs


@numba.njit(cache=True)
def _observe(v, m, elapsed, inventory, price, last_trade, out):
    for i in range(elapsed.size):
        write_observation(v, m, elapsed[i], inventory[i], price[i], last_trade[i], out, i)


def decode(params: OptimalExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k, shares remaining x) from a batch of observations; k is clipped to
    0..N−1, the periods in which a decision is taken."""
    observations = np.asarray(observations, dtype=np.float64)
    periods = params.periods
    elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])).astype(np.int64), 0, periods - 1)
    return elapsed, observations[:, 1] * params.shares


@dataclass(frozen=True)
class Transition:
    """What one period produced, per episode of the batch."""

    batch: Batch
    reward: np.ndarray           # bps of arrival notional
    traded: np.ndarray           # shares traded this period
    execution_price: np.ndarray  # currency per share
    terminated: np.ndarray       # bool: the horizon is reached


def price_shocks(batch: Batch) -> np.ndarray:
    """ξ for the current period of every episode: a function of (seed, episode, period) only."""
    return standard_normals(batch.key, batch.elapsed)


def episode_shocks(params: OptimalExecParams, key) -> list[float]:
    """ξ_0, ..., ξ_{N−1} of the episode with noise key ``key``: the scalar env draws them at reset."""
    return standard_normals(np.full(params.periods, key, dtype=np.uint64), np.arange(params.periods)).tolist()


def step(params: OptimalExecParams, batch: Batch, fractions: np.ndarray) -> Transition:
    """Advance every episode of ``batch`` by one period (:func:`advance`), trading at position ``fractions``
    of the trade range."""
    v, m, schedules = batch_market(params)
    (inventory, price, shortfall, traded, reward, execution_price) = _step_loop(v)(
        m, *schedules, batch.elapsed, batch.inventory, batch.price, batch.shortfall, batch.last_trade,
        price_shocks(batch), np.asarray(fractions, dtype=np.float64))
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=batch.elapsed + 1,
                inventory=inventory, price=price, shortfall=shortfall, last_trade=traded)
    return Transition(batch=new, reward=reward, traded=traded, execution_price=execution_price,
                      terminated=batch.elapsed == params.periods - 1)


@lru_cache(maxsize=None)
def _step_loop(v: Variant):
    """:func:`advance` over a batch, compiled for variant ``v`` (its flags compile-time constants: the loop
    runs about 4x faster than one reading them at run time; one compilation, about a second, per variant
    and process)."""

    @numba.njit
    def loop(m, impact, caps, later_caps, table, elapsed, inventory, price, shortfall, last_trade, shocks,
             fractions):
        n = elapsed.size
        new_inventory, new_price, new_shortfall = np.empty(n), np.empty(n), np.empty(n)
        traded, reward, execution_price = np.empty(n), np.empty(n), np.empty(n)
        for i in range(n):
            (traded[i], _, new_inventory[i], move, cost, _, reward[i], execution_price[i]) = advance(
                v, m, impact, caps, later_caps, table, elapsed[i], inventory[i], price[i], last_trade[i],
                shocks[i], fractions[i])
            new_price[i] = price[i] + move
            new_shortfall[i] = shortfall[i] + cost
        return new_inventory, new_price, new_shortfall, traded, reward, execution_price

    return loop
