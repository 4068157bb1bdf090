"""Dynamics of LimitOrMarket: one step of one episode, and of a whole batch of episodes.

Per episode, with k steps left, n >= 1 lots left and the mid x ticks from the
arrival mid S_0 (h the half spread, w the book walk, p(d | ΔS) the fill
probability: :mod:`.params`), one step of action a::

    ΔS  = −1 if U_S < P(down),  +1 if U_S > 1 − P(up),  else 0          the step's price move
    a = d in 0..L (limit):   filled = #{j < n : U_j < p(d | ΔS)}   each sold at x + h + d
    a = L + 1 + i (market):  m = ⌈f_i·n⌉ sold at once,  for m·(x − h) − w(m) in all
    held = n − filled − m   (lots held through the move),  x' = x + ΔS
    at the deadline (k = 1) the held lots are sold by a market order at x': held·(x' − h) − w(held)
    reward = tick_bps/N · (filled·(h + d) − m·h − w(m) + held·ΔS − [deadline]·(held·h + w(held)))

The step also reports E[reward | state, action] (:func:`expected_reward`): the
reward averaged over the step's move and fills, whose sum over an episode has the
same expectation for every policy that does not see the future
(:mod:`execgym.wrappers`).

The reward is the step's sales measured against the mid when they sell, plus
the change in the mark-to-market value of the lots still held (held·ΔS): the
realised improvement of the step's sales over the arrival mid, plus the
change in c·n·x (c = tick_bps/N). That term is 0 at the start (x = 0) and at
the end (n = 0), so Σ reward is the order's average sale price minus S_0, in
bps of S_0: its price improvement against the arrival mid (negative when the
order sold below it), the same as the realised improvement in ``info``. Per
step the reward depends on (n, action, fills, ΔS) only, not on the price
level x: the observation (steps left, lots left) is a Markov state for it.
The episode ends when the order is done or at the deadline.

U_S is stream 0 and U_j stream j + 1 of :func:`execgym.noise.uniforms` at the
step (N + 1 streams): functions of (seed, episode, step) only, never of the
actions, so two policies on one seed meet the same prices and order flow,
and a lot that fills at depth d fills at any shallower depth (fills are
monotone in the depth).

The step is written once, for one episode, in plain Python on numbers
(:func:`advance` on a :class:`State` in a :class:`Market`); the scalar env
runs it as it is and the engine (:mod:`execgym.engine`) compiles it over a
batch, each slot with its own market or all sharing one, so the two give the
same bits. The step's noise is its episode's noise key: :func:`advance` draws
U_S (:func:`move_draw`) and the U_j of the lots resting (:func:`lots_filled`)
from it, both compiled, at counters that depend on the market's N, so the
episode's K·N lot draws are never stored.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import uniform_draw
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.records import Lookup


class Variant(NamedTuple):
    """The model choices compiled into the step: none (every choice of the params is a number or a table of
    the :class:`Market`), so all markets of an env share one compiled step."""


class Market(NamedTuple):
    """The params' numbers as the step's arithmetic reads them, and its lookup tables (tuples of floats for
    plain Python, float64 arrays for compiled code)."""

    lots: int             # N
    streams: int          # N + 1: uniform streams per step, the price move's and one per lot
    deadline: int         # K, steps
    depths: int           # L + 1: actions below this are limit orders
    orders: int           # F: market orders offered
    half_spread: float    # h, ticks
    down: float           # P(ΔS = −1)
    up_above: float       # 1 − P(ΔS = +1)
    lot_bps: float        # c = tick_bps/N, bps per lot and tick
    fill: Lookup          # (3·(L+1),): p(d | ΔS) at (ΔS + 1)·(L+1) + d
    sold: Lookup          # ((N+1)·F,): ⌈f_i·n⌉ lots (whole numbers) at n·F + i
    cost: Lookup          # (N+1,): m·h + w(m), ticks paid below the mid by a market order of m lots


class State(NamedTuple):
    """One episode's state after ``elapsed`` steps."""

    elapsed: int          # steps done, 0..K
    lots_left: int        # n, lots still to sell
    mid: int              # x, ticks from the arrival mid
    improvement: float    # realised improvement of the sales so far over S_0, bps of the order


class Report(NamedTuple):
    """What a step reports beside the state: the lots it sold."""

    limit_filled: int     # by the limit order
    market_sold: int      # by market orders (the chosen one and the deadline's)
    expected_reward: float   # E[reward | state, action], bps (:func:`expected_reward`)


def variant(params: LimitOrMarketParams) -> Variant:
    """The :class:`Variant` of ``params`` (the same for all)."""
    return Variant()


def _market(params: LimitOrMarketParams, sequence) -> Market:
    down, _, up = params.move_probabilities.tolist()
    n = np.arange(params.lots + 1)
    return Market(lots=params.lots, streams=params.lots + 1, deadline=params.deadline, depths=params.depths,
                  orders=len(params.market_fractions), half_spread=params.half_spread, down=down,
                  up_above=1.0 - up, lot_bps=params.lot_bps,
                  fill=sequence(params.conditional_fill_probabilities(np.array([-1, 0, 1])).ravel()),
                  sold=sequence(params.market_lots(n).ravel()), cost=sequence(market_costs(params, n)))


@lru_cache(maxsize=256)
def market(params: LimitOrMarketParams) -> Market:
    """The :class:`Market` of ``params`` as compiled code reads it (tables as float64 arrays)."""
    return _market(params, lambda values: np.ascontiguousarray(values, dtype=np.float64))


@lru_cache(maxsize=256)
def scalar_market(params: LimitOrMarketParams) -> Market:
    """The :class:`Market` of ``params`` as plain Python reads it fastest (tables as tuples of floats)."""
    return _market(params, lambda values: tuple(np.asarray(values, dtype=np.float64).tolist()))


def market_costs(params: LimitOrMarketParams, lots: np.ndarray) -> np.ndarray:
    """Ticks below the mid paid in all by market orders of ``lots``: m·h + w(m)."""
    return lots * params.half_spread + params.walk_ticks(lots)


@numba.njit(cache=True)
def move_draw(key, t, streams) -> float:
    """U_S of the step after t steps done under the episode's noise key (uint64): stream 0 of
    :func:`execgym.noise.uniforms` (counter t·streams). Compiled; compiled loops and plain Python both call
    it."""
    return uniform_draw(key, np.uint64(t) * np.uint64(streams))


@numba.njit(cache=True)
def lots_filled(key, t, n, q, streams) -> int:
    """#{j < n : U_j < q}: the lots filled in the step after t steps done of n resting lots that each fill
    with probability q, U_j stream j + 1 of :func:`execgym.noise.uniforms` (counter t·streams + j + 1) under
    the episode's noise key (uint64). Compiled; compiled loops and plain Python both call it."""
    first = np.uint64(t) * np.uint64(streams) + np.uint64(1)
    filled = 0
    for j in range(n):
        if uniform_draw(key, first + np.uint64(j)) < q:
            filled += 1
    return filled


@register_jitable
def expected_forced_cost(market: Market, n: int, q: float) -> float:
    """E[m·h + w(m)], ticks, of the deadline's market order for the m = n − j lots a limit order leaves when j of
    n fill, each independently with probability q: Σ_j C(n, j)·q^j·(1 − q)^{n−j}·cost(n − j), the binomial
    coefficients' logs summed as ln(n − j) − ln(j + 1) (C library logs and exps only: plain Python and compiled
    code get the same bits, which math.lgamma would not give)."""
    if q <= 0.0 or q >= 1.0:
        return market.cost[0 if q >= 1.0 else n]
    log_q, log_rest = math.log(q), math.log1p(-q)
    log_choose, total = 0.0, 0.0
    for j in range(n + 1):
        total += math.exp(log_choose + j * log_q + (n - j) * log_rest) * market.cost[n - j]
        if j < n:
            log_choose += math.log(n - j) - math.log(j + 1)
    return total


@register_jitable
def expected_reward(market: Market, n: int, action: int, last: bool) -> float:
    """E[reward | n lots left, action], bps: the step's reward (module docstring) averaged over its price move
    ΔS (P(−1), P(0), P(+1)) and, for a limit order at depth d, the lots filled, Binomial(n, p(d | ΔS)):
    c·Σ_ΔS P(ΔS)·(n·p·(h + d) + ΔS·n·(1 − p) − [deadline]·E[m·h + w(m)] with m = n − filled held);
    for a market order of m lots, c·(−(m·h + w(m)) + (n − m)·E[ΔS] − [deadline]·((n − m)·h + w(n − m)))."""
    down, up = market.down, 1.0 - market.up_above
    if action >= market.depths:
        chosen = int(market.sold[n * market.orders + action - market.depths])
        held = n - chosen
        value = -market.cost[chosen] + held * (up - down) - (market.cost[held] if last else 0.0)
        return value * market.lot_bps
    value = 0.0
    for move in range(-1, 2):
        probability = down if move < 0 else (up if move > 0 else market.up_above - market.down)
        if probability <= 0.0:
            continue
        fill = market.fill[(move + 1) * market.depths + action]
        outcome = n * fill * (market.half_spread + action) + move * n * (1.0 - fill)
        if last:
            outcome -= expected_forced_cost(market, n, fill)
        value += probability * outcome
    return value * market.lot_bps


@register_jitable(inline="always")
def initial_state(v: Variant, market: Market, key) -> State:
    """Nothing sold yet: N lots left at the arrival mid."""
    return State(0, market.lots, 0, 0.0)


@register_jitable(inline="always")
def advance(v: Variant, market: Market, state: State, action: int, key):
    """The step after t = ``state.elapsed`` steps done (module docstring), from n >= 1 lots left at mid x,
    acting ``action`` in 0..L+F, with the episode's noise key (uint64) for the step's U_S and the lots' U_j.
    Returns (next state, reward (bps), :class:`Report`)."""
    t, n, x = state.elapsed, state.lots_left, state.mid
    u = move_draw(key, t, market.streams)
    move = -1 if u < market.down else (1 if u > market.up_above else 0)     # ΔS
    if action < market.depths:
        filled = lots_filled(key, t, n, market.fill[(move + 1) * market.depths + action], market.streams)
        chosen = 0
        earned = filled * (market.half_spread + action)
    else:
        filled = 0
        chosen = int(market.sold[n * market.orders + action - market.depths])
        earned = -market.cost[chosen]
    held = n - filled - chosen
    forced = held if t + 1 >= market.deadline else 0
    earned -= market.cost[forced]
    reward = (earned + held * move) * market.lot_bps
    realised = (filled * x + chosen * x + forced * (x + move) + earned) * market.lot_bps
    next_state = State(t + 1, held - forced, x + move, state.improvement + realised)
    expected = expected_reward(market, n, action, t + 1 >= market.deadline)
    return next_state, reward, Report(filled, chosen + forced, expected)


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True once the order is done (at the latest after the deadline's market order)."""
    return state.lots_left == 0


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32): [steps left (K − t)/K after t steps done, lots
    left n/N]."""
    out[row, 0] = (market.deadline - state.elapsed) / market.deadline
    out[row, 1] = state.lots_left / market.lots


def step_noise(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """The step's noise of every episode: its noise key (uint64 (b,)), from which :func:`advance` draws."""
    return keys


def episode_noise(v: Variant, market: Market, key) -> list:
    """The noise of every step of the episode with noise key ``key`` in ``market``: that key, K times (the
    scalar env indexes it by the step, as the batch indexes :func:`step_noise` by the slot)."""
    return [key] * market.deadline


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=step_noise, episode_noise=episode_noise, observation_size=lambda params: 2)


def decode(params: LimitOrMarketParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps done t (b,) int64 in 0..K, lots left n (b,) int64 in 0..N) from observations (b, 2)."""
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 2 or observations.shape[1] != 2:
        raise ValueError(f"observations must have shape (batch, 2), got {observations.shape}")
    elapsed = np.rint(params.deadline * (1.0 - observations[:, 0])).astype(np.int64)
    lots_left = np.rint(observations[:, 1] * params.lots).astype(np.int64)
    return np.clip(elapsed, 0, params.deadline), np.clip(lots_left, 0, params.lots)
