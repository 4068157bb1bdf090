"""Batched dynamics of LimitOrMarket: one step for a whole batch of episodes, in pure numpy.

Per episode, with k steps left, n >= 1 lots left and the mid x ticks from the
arrival mid S_0 (h the half spread, w the book walk, p(d | ΔS) the fill
probability: :mod:`.params`), one step of action a::

    ΔS  = +1 if U_S > 1 − P(up),  −1 if U_S < P(down),  else 0          the step's price move
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
step: functions of (seed, episode, step) only, never of the actions, so two
policies on one seed meet the same prices and order flow, and a lot that fills
at depth d fills at any shallower depth (fills are monotone in the depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.noise import episode_keys, uniforms
from execgym.problems.limit_or_market.params import LimitOrMarketParams

PRICE = 0


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


def streams(params: LimitOrMarketParams) -> int:
    """Uniform streams per step: the price move and one per lot."""
    return params.lots + 1


def start(params: LimitOrMarketParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    b = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 elapsed=np.zeros(b, dtype=np.int64), lots_left=np.full(b, params.lots, dtype=np.int64),
                 mid=np.zeros(b, dtype=np.int64), improvement=np.zeros(b))



def observe(params: LimitOrMarketParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2) float32: [steps left (K − t)/K, lots left n/N]."""
    obs = np.empty((len(batch), 2), dtype=np.float32)
    obs[:, 0] = (params.deadline - batch.elapsed) / params.deadline
    obs[:, 1] = batch.lots_left / params.lots
    return obs


def decode(params: LimitOrMarketParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps done t (b,) int64 in 0..K, lots left n (b,) int64 in 0..N) from observations (b, 2)."""
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 2 or observations.shape[1] != 2:
        raise ValueError(f"observations must have shape (batch, 2), got {observations.shape}")
    elapsed = np.rint(params.deadline * (1.0 - observations[:, 0])).astype(np.int64)
    lots_left = np.rint(observations[:, 1] * params.lots).astype(np.int64)
    return np.clip(elapsed, 0, params.deadline), np.clip(lots_left, 0, params.lots)


def price_moves(params: LimitOrMarketParams, key: np.ndarray, step: np.ndarray) -> np.ndarray:
    """ΔS (b,) int64 in {−1, 0, 1} of step ``step``, from uniform stream 0."""
    u = uniforms(key, step, PRICE, streams(params))
    down, _, up = params.move_probabilities
    return np.where(u < down, -1, np.where(u > 1.0 - up, 1, 0))


def limit_fills(params: LimitOrMarketParams, key: np.ndarray, step: np.ndarray, lots_left: np.ndarray,
                probability: np.ndarray) -> np.ndarray:
    """(b,) lots filled of resting orders of ``lots_left`` lots, each lot j filling iff U_j < ``probability``."""
    lots = np.arange(params.lots, dtype=np.uint64)
    u = uniforms(key[:, None], step[:, None], lots[None, :] + np.uint64(1), streams(params))
    resting = lots[None, :] < lots_left[:, None].astype(np.uint64)
    return (resting & (u < probability[:, None])).sum(axis=1)


def market_costs(params: LimitOrMarketParams, lots: np.ndarray) -> np.ndarray:
    """Ticks below the mid paid in all by market orders of ``lots``: m·h + w(m)."""
    return lots * params.half_spread + params.walk_ticks(lots)


def step(params: LimitOrMarketParams, batch: Batch, actions: np.ndarray) -> Transition:
    """Act ``actions`` (b,) int64 in 0..L+F (checked) in every episode of ``batch`` (none finished)."""
    t = batch.elapsed.astype(np.uint64)
    n, x = batch.lots_left, batch.mid
    move = price_moves(params, batch.key, t)
    limit = actions < params.depths
    depth = np.where(limit, actions, 0)
    probability = params.conditional_fill_probabilities(move)[np.arange(len(batch)), depth]
    filled = np.where(limit, limit_fills(params, batch.key, t, n, probability), 0)
    chosen = np.where(limit, 0, actions - params.depths)
    sold = np.where(limit, 0, params.market_lots(np.maximum(n, 1))[np.arange(len(batch)), chosen])
    held, mid, elapsed = n - filled - sold, x + move, batch.elapsed + 1
    forced = np.where(elapsed >= params.deadline, held, 0)
    spread_earned = filled * (params.half_spread + depth) - market_costs(params, sold) - market_costs(params, forced)
    reward = (spread_earned + held * move) * params.lot_bps
    realised = filled * x + sold * x + forced * mid + spread_earned
    lots_left = held - forced
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, elapsed=elapsed, lots_left=lots_left,
                mid=mid, improvement=batch.improvement + realised * params.lot_bps)
    return Transition(batch=new, reward=reward, terminated=lots_left == 0, limit_filled=filled,
                      market_sold=sold + forced)
