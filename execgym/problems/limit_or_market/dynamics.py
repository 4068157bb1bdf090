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
(:func:`advance`, with :func:`price_move`). The scalar env calls it as it is,
with the episode's U_S taken at reset (:func:`episode_moves`); :func:`step`
runs it over a batch compiled by numba (``register_jitable``), drawing each
episode's U_S in the loop, so the two give the same bits. Both count a limit
order's fills with the compiled :func:`lots_filled`, which draws the step's
U_j of the lots resting (plain Python calls it once per limit order: the
episode's K·N lot draws are never stored). The functions read the params
through :class:`Market` (plain scalars) and :class:`Tables` (the fill
probabilities, market order sizes and costs, tabulated once from the params).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys, uniform_draw
from execgym.problems.limit_or_market.params import LimitOrMarketParams

PRICE = 0


class Market(NamedTuple):
    """The params' numbers as the step's arithmetic reads them (plain scalars; the tables are :class:`Tables`,
    kept apart because numba copies a tuple holding arrays on every call)."""

    lots: int             # N
    streams: int          # N + 1: uniform streams per step, the price move's and one per lot
    deadline: int         # K, steps
    depths: int           # L + 1: actions below this are limit orders
    orders: int           # F: market orders offered
    half_spread: float    # h, ticks
    down: float           # P(ΔS = −1)
    up_above: float       # 1 − P(ΔS = +1)
    lot_bps: float        # c = tick_bps/N, bps per lot and tick


class Tables(NamedTuple):
    """The step's lookup tables: tuples for plain Python (the scalar env), arrays for the compiled batch."""

    fill: object   # float64 (3·(L+1),): p(d | ΔS) at (ΔS + 1)·(L+1) + d
    sold: object   # int64 ((N+1)·F,): ⌈f_i·n⌉ at n·F + i
    cost: object   # float64 (N+1,): m·h + w(m), ticks paid below the mid by a market order of m lots


def _tables(params: LimitOrMarketParams) -> Tables:
    n = np.arange(params.lots + 1)
    return Tables(fill=params.conditional_fill_probabilities(np.array([-1, 0, 1])).ravel(),
                  sold=params.market_lots(n).ravel(), cost=market_costs(params, n))


@lru_cache(maxsize=64)
def scalar_market(params: LimitOrMarketParams) -> tuple[Market, Tables]:
    """(:class:`Market`, :class:`Tables` of tuples): the fastest form for plain Python."""
    return _market(params), Tables(*(tuple(table.tolist()) for table in _tables(params)))


@lru_cache(maxsize=64)
def batch_market(params: LimitOrMarketParams) -> tuple[Market, Tables]:
    """(:class:`Market`, :class:`Tables` of contiguous arrays): the form numba compiles."""
    return _market(params), Tables(*(np.ascontiguousarray(table) for table in _tables(params)))


def _market(params: LimitOrMarketParams) -> Market:
    down, _, up = params.move_probabilities.tolist()
    return Market(lots=params.lots, streams=params.lots + 1, deadline=params.deadline, depths=params.depths,
                  orders=len(params.market_fractions), half_spread=params.half_spread, down=down,
                  up_above=1.0 - up, lot_bps=params.lot_bps)


@register_jitable(inline="always")
def price_move(m: Market, u: float) -> int:
    """ΔS in {−1, 0, +1} from the step's U_S: −1 if U_S < P(down), +1 if U_S > 1 − P(up), else 0."""
    if u < m.down:
        return -1
    return 1 if u > m.up_above else 0


@numba.njit(cache=True)
def lots_filled(key, k, n, q, streams) -> int:
    """#{j < n : U_j < q}: the lots filled at step k of n resting lots that each fill with probability q, U_j
    stream j + 1 of :func:`execgym.noise.uniforms` (counter k·streams + j + 1) under the episode's noise key
    (uint64). Compiled; compiled loops and plain Python both call it."""
    first = np.uint64(k) * np.uint64(streams) + np.uint64(1)
    filled = 0
    for j in range(n):
        if uniform_draw(key, first + np.uint64(j)) < q:
            filled += 1
    return filled


@register_jitable(inline="always")
def advance(m: Market, fill, sold, cost, key, k: int, n: int, x: int, action: int, u_move: float):
    """Step k of one episode (module docstring) from n >= 1 lots left at mid x (ticks from S_0), acting
    ``action`` in 0..L+F, with the step's U_S and the episode's noise key (uint64, for the lots' U_j);
    ``fill``, ``sold``, ``cost`` are the :class:`Tables`. Returns (lots filled, lots sold by market orders
    (the chosen one and the deadline's), ΔS, lots left, reward (bps), realised improvement of the step's
    sales over S_0 (bps))."""
    move = price_move(m, u_move)
    if action < m.depths:
        filled = lots_filled(key, k, n, fill[(move + 1) * m.depths + action], m.streams)
        chosen = 0
        earned = filled * (m.half_spread + action)
    else:
        filled = 0
        chosen = sold[n * m.orders + action - m.depths]
        earned = -cost[chosen]
    held = n - filled - chosen
    forced = held if k + 1 >= m.deadline else 0
    earned -= cost[forced]
    reward = (earned + held * move) * m.lot_bps
    realised = (filled * x + chosen * x + forced * (x + move) + earned) * m.lot_bps
    return filled, chosen + forced, move, held - forced, reward, realised


@register_jitable(inline="always")
def observation(m: Market, k: int, n: int) -> tuple[float, float]:
    """[steps left (K − k)/K, lots left n/N] after k steps with n lots left (the envs store it as float32)."""
    return (m.deadline - k) / m.deadline, n / m.lots


@register_jitable(inline="always")
def move_draw(key, k, streams) -> float:
    """U_S of step k under the episode's noise key (uint64): stream 0 of :func:`execgym.noise.uniforms`
    (counter k·streams). Compiled code only (the scalar env takes them from :func:`episode_moves`)."""
    return uniform_draw(key, np.uint64(k) * np.uint64(streams) + np.uint64(PRICE))


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes, one row per episode."""

    seed: np.ndarray       # uint64 (b,)
    episode: np.ndarray    # uint64 (b,)
    key: np.ndarray        # uint64 (b,): noise key of the current episode
    elapsed: np.ndarray    # int64 (b,): steps done, 0..K
    lots_left: np.ndarray  # int64 (b,): n, lots still to sell
    mid: np.ndarray        # int64 (b,): x, ticks from the arrival mid
    improvement: np.ndarray  # float64 (b,): realised improvement of the sales so far over S_0, bps of the order

    def __len__(self) -> int:
        return self.elapsed.shape[0]


@dataclass(frozen=True)
class Transition:
    """One step of a batch: the new batch, rewards (b,), which episodes ended (b,), and the lots sold (b,)
    by limit and by market orders."""

    batch: Batch
    reward: np.ndarray
    terminated: np.ndarray
    limit_filled: np.ndarray
    market_sold: np.ndarray


def start(params: LimitOrMarketParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    b = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(b, dtype=np.int64), lots_left=np.full(b, params.lots, dtype=np.int64),
                 mid=np.zeros(b, dtype=np.int64), improvement=np.zeros(b))


def observe(params: LimitOrMarketParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2) float32: :func:`observation` of every episode."""
    obs = np.empty((len(batch), 2), dtype=np.float32)
    _observe(batch_market(params)[0], np.asarray(batch.elapsed, dtype=np.int64),
             np.asarray(batch.lots_left, dtype=np.int64), obs)
    return obs


@numba.njit(cache=True)
def _observe(m, elapsed, lots_left, out):
    for i in range(elapsed.size):
        out[i, 0], out[i, 1] = observation(m, elapsed[i], lots_left[i])


def decode(params: LimitOrMarketParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps done t (b,) int64 in 0..K, lots left n (b,) int64 in 0..N) from observations (b, 2)."""
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 2 or observations.shape[1] != 2:
        raise ValueError(f"observations must have shape (batch, 2), got {observations.shape}")
    elapsed = np.rint(params.deadline * (1.0 - observations[:, 0])).astype(np.int64)
    lots_left = np.rint(observations[:, 1] * params.lots).astype(np.int64)
    return np.clip(elapsed, 0, params.deadline), np.clip(lots_left, 0, params.lots)


def market_costs(params: LimitOrMarketParams, lots: np.ndarray) -> np.ndarray:
    """Ticks below the mid paid in all by market orders of ``lots``: m·h + w(m)."""
    return lots * params.half_spread + params.walk_ticks(lots)


def episode_moves(params: LimitOrMarketParams, key) -> list[float]:
    """U_S of steps 0..K−1 of the episode with noise key ``key``: the draws :func:`step` takes in its loop,
    which the scalar env takes at reset."""
    return _episode_moves(np.uint64(key), params.deadline, batch_market(params)[0].streams).tolist()


@numba.njit(cache=True)
def _episode_moves(key, steps, streams):
    moves = np.empty(steps)
    for k in range(steps):
        moves[k] = move_draw(key, k, streams)
    return moves


def step(params: LimitOrMarketParams, batch: Batch, actions: np.ndarray) -> Transition:
    """Act ``actions`` (b,) int64 in 0..L+F (checked) in every episode of ``batch`` (none finished):
    :func:`advance` of each."""
    m, tables = batch_market(params)
    filled, sold, lots_left, mid, improvement, reward = _step_loop(
        m, *tables, batch.key, batch.elapsed, batch.lots_left, batch.mid, batch.improvement,
        np.asarray(actions, dtype=np.int64))
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=batch.elapsed + 1,
                lots_left=lots_left, mid=mid, improvement=improvement)
    return Transition(batch=new, reward=reward, terminated=lots_left == 0, limit_filled=filled, market_sold=sold)


@numba.njit(cache=True)
def _step_loop(m, fill, sold, cost, key, elapsed, lots_left, mid, improvement, actions):
    """:func:`advance` over a batch, with each episode's U_S of the step."""
    b = elapsed.size
    filled, market_sold = np.empty(b, dtype=np.int64), np.empty(b, dtype=np.int64)
    new_lots, new_mid = np.empty(b, dtype=np.int64), np.empty(b, dtype=np.int64)
    new_improvement, reward = np.empty(b), np.empty(b)
    for i in range(b):
        k = elapsed[i]
        filled[i], market_sold[i], move, new_lots[i], reward[i], realised = advance(
            m, fill, sold, cost, key[i], k, lots_left[i], mid[i], actions[i], move_draw(key[i], k, m.streams))
        new_mid[i] = mid[i] + move
        new_improvement[i] = improvement[i] + realised
    return filled, market_sold, new_lots, new_mid, new_improvement, reward
