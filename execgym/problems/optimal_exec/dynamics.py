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

With transient impact κ > 0 (Obizhaeva & Wang 2013, "Optimal trading strategy
and supply/demand dynamics", J. Financial Markets 16(1)) the book's price is
displaced from the mid S by D (currency per share; 0 at arrival): a trade
walks a book of depth 1/κ from the displaced price, and the book recovers at
the resilience ρ between periods (ψ = e^{−ρτ})::

    S̃      = S + D − s·sign(n)·g − s·κ·n/2              execution price
    D'     = ψ·(D − s·κ·n)
    cost   = |n|·g + κ·n²/2 − s·n·D − s·ΔS·x'

The displacement is deterministic given the trades, so the expected reward
keeps these terms whole.

The step also reports E[reward | state, action] (``Report.expected_reward``): the
reward with the shock's term s·σ_τ·ξ·x'·10⁴/(X·S0) removed. The shock is
independent of the state and of x', so over an episode the expected rewards sum
to a return with the same expectation for every policy that does not see the
future, and without the price noise's variance (what :mod:`execgym.set_scoring`
and :class:`execgym.wrappers.ExpectedRewards` use).

The cost telescopes: summed over the episode it is the implementation
shortfall s·(X·S0 − Σ n·S̃ − x_N·S_N) (the last term is zero when the order
completes), and E[Σ reward] is minus the objective the oracle minimises (see
:mod:`execgym.problems.optimal_exec.env`).

The period is written once, for one episode, in plain Python on floats
(:func:`advance` on a :class:`State` in a :class:`Market`, with
:func:`trade_bounds` and :func:`unit_cost`); the scalar env runs it as it is and
the engine (:mod:`execgym.engine`) compiles it over a batch, each slot with
its own market or all sharing one, so the two give the same bits. The model
variants the params turn on (:class:`Variant`) are compile-time constants of
the compiled loop.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import episode_normals, standard_normals
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.records import Lookup


class Variant(NamedTuple):
    """Which model variants the params turn on: compile-time constants of the compiled loop, so the other
    variants' branches are compiled out."""

    linear: bool      # α = 1 and no table
    tabled: bool      # cost per share from impact_table
    capped: bool      # trade_caps given
    two_way: bool
    completes: bool   # False with a soft target
    smooth: bool      # smoothness > 0: penalty on trade changes, previous trade observed
    transient: bool   # transient_impact > 0: the book's displacement D decays, observed


class Market(NamedTuple):
    """The params' numbers as the period's arithmetic reads them, and the per-period sequences (tuples for
    plain Python, float64 arrays for compiled code)."""

    periods: int
    side: float               # s: +1 sell, −1 buy
    shares: float             # X
    arrival_price: float      # S0
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
    inverse_periods: float    # 1/N, 1/X and 1/(σ√T): observations multiply (faster than dividing)
    inverse_shares: float
    inverse_price_scale: float
    transient_impact: float   # κ
    transient_decay: float    # ψ = e^{−ρτ}
    inverse_transient_scale: float  # 1/(κX), 0 without transient impact: the observed displacement s·D/(κX)
    impact: Lookup            # η_k (N,)
    caps: Lookup              # u_k (N,), +inf without caps
    later_caps: Lookup        # Σ_{j>k} u_j (N,)
    table: Lookup             # impact_table (N, L); a (1, 2) placeholder without one


class State(NamedTuple):
    """One episode's state after ``elapsed`` periods."""

    elapsed: int          # periods done, 0..N
    inventory: float      # x: shares still to trade
    price: float          # S: mid-price, currency per share
    shortfall: float      # implementation shortfall so far, currency
    last_trade: float     # n⁻: shares traded in the previous period (0 before the first)
    displacement: float   # D: the book's transient displacement from the mid, currency per share (0 without it)


class Report(NamedTuple):
    """What a period reports beside the state."""

    execution_price: float    # S̃, currency per share
    expected_reward: float    # E[reward | state, action]: the reward without the shock's term s·σ_τ·ξ·x'·10⁴/(X·S0)


def variant(params: OptimalExecParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(linear=params.impact_exponent == 1.0 and params.impact_table is None,
                   tabled=params.impact_table is not None, capped=params.trade_caps is not None,
                   two_way=params.two_way, completes=params.completes, smooth=params.smoothness > 0.0,
                   transient=params.transient)


def _market(params: OptimalExecParams, sequence) -> Market:
    caps = params.caps
    table = np.zeros((1, 2)) if params.impact_table is None else np.asarray(params.impact_table, dtype=np.float64)
    return Market(
        periods=params.periods, side=float(params.side_sign), shares=params.shares,
        arrival_price=params.arrival_price, tau=params.tau, half_spread=params.half_spread,
        exponent=params.impact_exponent, average_rate=params.average_rate,
        table_levels=2 if params.impact_table is None else len(params.impact_table[0]),
        trade_bound=params.max_trade * params.shares, permanent=params.permanent_impact,
        reversion=params.reversion_factor - 1.0, long_run_price=params.long_run_price,
        drift_step=params.drift * params.tau, shock_scale=params.shock_scale,
        risk=params.period_risk, smoothness=params.smoothness,
        target_penalty=params.target_penalty or 0.0, bps=params.bps_per_currency,
        inverse_periods=1.0 / params.periods, inverse_shares=1.0 / params.shares,
        inverse_price_scale=1.0 / params.price_scale, transient_impact=params.transient_impact,
        transient_decay=params.transient_decay,
        inverse_transient_scale=1.0 / (params.transient_impact * params.shares) if params.transient else 0.0,
        impact=sequence(params.impact_per_period), caps=sequence(caps),
        later_caps=sequence(np.append(np.cumsum(caps[::-1])[::-1][1:], 0.0)), table=table)


@lru_cache(maxsize=256)
def market(params: OptimalExecParams) -> Market:
    """The :class:`Market` of ``params`` as compiled code reads it (sequences as float64 arrays)."""
    return _market(params, lambda values: np.ascontiguousarray(values, dtype=np.float64))


@lru_cache(maxsize=256)
def scalar_market(params: OptimalExecParams) -> Market:
    """The :class:`Market` of ``params`` as plain Python reads it fastest (sequences as tuples of floats; the
    table stays an array, indexed [k, level] by both forms)."""
    return _market(params, lambda values: tuple(np.asarray(values, dtype=np.float64).tolist()))


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
def trade_bounds(v: Variant, market: Market, k: int, x: float) -> tuple[float, float]:
    """(lo, hi): the trades period k allows from inventory x, shares.

    * one-way (default): hi = min(x, u_k) and lo = max(0, x − Σ_{j>k} u_j), the least trade that
      leaves the later caps able to finish the order. Without caps that is [0, x] before the last
      period and [x, x] in it, so f is the fraction of the remaining shares traded. With a soft
      target (``target_penalty``) nothing is forced: lo = 0.
    * two-way: [−m·X, m·X] (m = ``max_trade``), and [x, x] in the last period unless the target is soft.
    """
    last = k >= market.periods - 1
    if v.two_way:
        if last and v.completes:
            return x, x
        return -market.trade_bound, market.trade_bound
    if not v.capped:
        return (x if last and v.completes else 0.0), x
    period = k if k < market.periods else market.periods - 1
    cap = market.caps[period]
    hi = x if x < cap else cap     # conditionals: numba's float min and max are slow
    if not v.completes:
        return 0.0, hi
    lo = x - market.later_caps[period]
    lo = 0.0 if lo < 0.0 else lo
    return (lo if lo < hi else hi), hi


@register_jitable(inline="always")
def unit_cost(v: Variant, market: Market, k: int, size: float) -> float:
    """g = ε + η_k·v̄·(size/(τ·v̄))^α: the cost per share of trading ``size`` shares in period k (currency
    per share; ε + η_k·size/τ for α = 1); with an ``impact_table``, ε plus the table's row k interpolated
    linearly at size/X."""
    if v.tabled:
        position = size / market.shares * (market.table_levels - 1)
        left = int(position)
        left = left if left < market.table_levels - 2 else market.table_levels - 2
        weight = position - left
        return market.half_spread + (1.0 - weight) * market.table[k, left] + weight * market.table[k, left + 1]
    if v.linear:
        return market.half_spread + market.impact[k] * size / market.tau
    rate = market.average_rate
    return market.half_spread + market.impact[k] * rate * (size / (market.tau * rate)) ** market.exponent


@register_jitable(inline="always")
def initial_state(v: Variant, market: Market, key) -> State:
    """Nothing traded yet: the whole order at the arrival price."""
    return State(0, market.shares, market.arrival_price, 0.0, 0.0, 0.0)


@register_jitable(inline="always")
def advance(v: Variant, market: Market, state: State, fraction: float, shock: float):
    """One period from ``state`` with price shock ξ = ``shock``, trading at position ``fraction`` of the
    trade range (module docstring). Returns (next state, reward, :class:`Report`)."""
    k, x = state.elapsed, state.inventory
    lo, hi = trade_bounds(v, market, k, x)
    traded = lo + fraction * (hi - lo)
    cost_per_share = unit_cost(v, market, k, abs(traded))
    remaining = x - traded
    move = (market.reversion * (state.price - market.long_run_price) + market.drift_step
            + market.shock_scale * shock - market.side * market.permanent * traded)
    cost = abs(traded) * cost_per_share - market.side * move * remaining
    execution_price = state.price - (-market.side if traded < 0.0 else market.side) * cost_per_share
    displacement = 0.0
    transient_cost = 0.0
    if v.transient:
        walk = market.side * market.transient_impact * traded          # s·κ·n
        transient_cost = traded * (0.5 * market.transient_impact * traded - market.side * state.displacement)
        execution_price += state.displacement - 0.5 * walk
        displacement = market.transient_decay * (state.displacement - walk)
        cost += transient_cost
    penalty = market.risk * (remaining * remaining)
    if v.smooth and k > 0:
        penalty += market.smoothness * ((traded - state.last_trade) * (traded - state.last_trade))
    if not v.completes and k == market.periods - 1:
        penalty += market.target_penalty * (remaining * remaining)
    next_state = State(k + 1, remaining, state.price + move, state.shortfall + cost, traded, displacement)
    expected_move = (market.reversion * (state.price - market.long_run_price) + market.drift_step
                     - market.side * market.permanent * traded)
    expected_cost = abs(traded) * cost_per_share + transient_cost - market.side * expected_move * remaining
    return (next_state, -(cost + penalty) * market.bps,
            Report(execution_price, -(expected_cost + penalty) * market.bps))


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True after the N-th period."""
    return state.elapsed >= market.periods


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32): [time remaining (N−k)/N, inventory remaining x/X,
    price move since arrival (S − S0)/(σ√T)]; with ``smoothness`` > 0 a fourth entry, the previous
    trade n⁻/X; with transient impact a fourth entry, the book's displacement against the order s·D/(κX) (−1:
    the displacement of the whole order traded at once)."""
    out[row, 0] = (market.periods - state.elapsed) * market.inverse_periods
    out[row, 1] = state.inventory * market.inverse_shares
    out[row, 2] = (state.price - market.arrival_price) * market.inverse_price_scale
    if v.smooth:
        out[row, 3] = state.last_trade * market.inverse_shares
    if v.transient:
        out[row, 3] = market.side * state.displacement * market.inverse_transient_scale


def price_shocks(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """ξ of period ``elapsed`` of every episode: a function of (noise key, period) only."""
    return standard_normals(keys, elapsed)


def episode_shocks(v: Variant, market: Market, key) -> list[float]:
    """ξ_0, ..., ξ_{N−1} of the episode with noise key ``key`` in ``market``: the scalar env draws them at
    reset."""
    periods = market.periods
    return episode_normals(key, 0, periods, 0, 1).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=price_shocks, episode_noise=episode_shocks, observation_size=lambda params: params.observation_size)


def trade_range(params: OptimalExecParams, elapsed: np.ndarray, inventory: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) arrays: :func:`trade_bounds` of period ``elapsed`` from ``inventory`` x, elementwise."""
    elapsed, inventory = np.broadcast_arrays(np.asarray(elapsed, dtype=np.int64),
                                             np.asarray(inventory, dtype=np.float64))
    lo, hi = _trade_ranges(variant(params), market(params), elapsed.ravel(), inventory.ravel())
    return lo.reshape(elapsed.shape), hi.reshape(elapsed.shape)


@numba.njit(cache=True)
def _trade_ranges(v, market, elapsed, inventory):
    lo, hi = np.empty(elapsed.size), np.empty(elapsed.size)
    for i in range(elapsed.size):
        lo[i], hi[i] = trade_bounds(v, market, elapsed[i], inventory[i])
    return lo, hi


def unit_costs(params: OptimalExecParams, elapsed: np.ndarray, traded: np.ndarray) -> np.ndarray:
    """:func:`unit_cost` of trading ``traded`` shares in period ``elapsed``, elementwise (broadcast)."""
    elapsed, size = np.broadcast_arrays(np.asarray(elapsed, dtype=np.int64), np.abs(np.asarray(traded, float)))
    return _unit_costs(variant(params), market(params), elapsed.ravel(), size.ravel()).reshape(elapsed.shape)


@numba.njit(cache=True)
def _unit_costs(v, market, elapsed, size):
    out = np.empty(elapsed.size)
    for i in range(elapsed.size):
        out[i] = unit_cost(v, market, elapsed[i], size[i])
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


def decode(params: OptimalExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k, shares remaining x) from a batch of observations; k is clipped to
    0..N−1, the periods in which a decision is taken."""
    observations = np.asarray(observations, dtype=np.float64)
    periods = params.periods
    elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])).astype(np.int64), 0, periods - 1)
    return elapsed, observations[:, 1] * params.shares
