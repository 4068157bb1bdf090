"""Dynamics of BasketSequence: one trade of one episode, and of a whole batch of episodes.

State per episode: the set D of trades done (a boolean row of n flags) and the
last trade ℓ (−1 before the first). Choosing trade j ∉ D::

    cost   = a_j if ℓ = −1 else d_{ℓ j}               expected cost of the step, bps of W
    reward = −(cost + σ·ξ_t),   ξ_t = standard_normals(key, t)   t = |D| + 1, the trade's number
    D' = D ∪ {j},  ℓ' = j;  the episode ends when |D'| = n.

The noise ξ_t depends on the episode key and the step number only, never on
the actions, so every policy on a seed draws the same ξ_1..ξ_n: E[Σ reward] =
−E[C(order)], and two policies' returns on a seed differ by exactly their cost
difference.

The trade is written once, for one episode, in plain Python on floats and
ints: the cost is ``table[cost_index(m, ℓ, j)]`` in the cost table
(``params.cost_table``) and the reward :func:`trade_reward` of it. The scalar
env calls them as they are; :func:`step` runs them over a batch compiled by
numba (``register_jitable``), so the two give the same bits. The functions
read the params through :class:`Market`, the same numbers as plain fields.
They take no arrays: an array passed to an inlined function costs numba a
reference count per call, several times the trade itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.noise import episode_keys, normal_quantile, standard_normals, uniform_draw
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.validation import INTEGER_KINDS, action_array


class Variant(NamedTuple):
    """Which model variants the params turn on. The compiled batch loop takes these flags as compile-time
    constants (:func:`_step_loop`), so the other variants' branches are compiled out."""

    noisy: bool   # σ > 0: a cost shock per trade


class Market(NamedTuple):
    """The params' scalars as the trade's arithmetic reads them (the cost table is passed apart: numba
    copies a tuple holding an array on every call)."""

    trades: int         # n
    cost_noise: float   # σ, bps of W


def variant(params: BasketSequenceParams) -> Variant:
    """The :class:`Variant` flags of ``params``."""
    return Variant(noisy=params.cost_noise > 0.0)


def _market(params: BasketSequenceParams) -> Market:
    return Market(trades=params.trades, cost_noise=params.cost_noise)


@lru_cache(maxsize=64)
def scalar_market(params: BasketSequenceParams) -> tuple[Variant, Market, tuple[float, ...]]:
    """(:class:`Variant`, :class:`Market`, the cost table ``params.cost_table`` as a tuple of floats): the
    fastest form for plain Python."""
    return variant(params), _market(params), tuple(params.cost_table.tolist())


def batch_market(params: BasketSequenceParams) -> tuple[Variant, Market, np.ndarray]:
    """(:class:`Variant`, :class:`Market`, the cost table ``params.cost_table``, float64): the form numba
    compiles (once per variant for the step). Not cached: the table is the params' own (cached) array, and
    hashing the params of a large basket (every cost matrix entry) would cost far more than this."""
    return variant(params), _market(params), params.cost_table


@register_jitable(inline="always")
def cost_index(m: Market, last: int, j: int) -> int:
    """Where the cost of trade j right after trade ``last`` (−1: j goes first) sits in the cost table
    (``params.cost_table``): a_j at j, d_{last j} at n·(last + 1) + j."""
    return j if last < 0 else m.trades * (last + 1) + j


@register_jitable(inline="always")
def trade_reward(v: Variant, m: Market, cost: float, shock: float) -> float:
    """The reward of a trade of expected cost ``cost`` with cost shock ξ = ``shock`` (read only with noise):
    −(cost + σ·ξ), bps of W."""
    reward = -cost
    if v.noisy:
        reward -= m.cost_noise * shock
    return reward


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes, one row per episode."""

    seed: np.ndarray     # uint64 (b,): the seed the episode stream was started from
    episode: np.ndarray  # uint64 (b,): episode number within that stream (0, 1, ...)
    key: np.ndarray      # uint64 (b,): noise key of the current episode
    done: np.ndarray     # bool (b, n): trades executed
    last: np.ndarray     # int64 (b,): last trade executed, −1 before the first
    cost: np.ndarray     # float64 (b,): expected cost so far (noise excluded), bps of W

    def __len__(self) -> int:
        return self.last.shape[0]


@dataclass(frozen=True)
class Transition:
    """One step of a batch: the new batch, rewards (b,) and which episodes ended (b,)."""

    batch: Batch
    reward: np.ndarray
    terminated: np.ndarray


def start(params: BasketSequenceParams, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
    """Fresh episodes number ``episodes`` of the streams ``seeds``."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    episodes = np.asarray(episodes, dtype=np.uint64)
    b = seeds.shape[0]
    return Batch(seed=seeds, episode=episodes, key=episode_keys(seeds, episodes),
                 done=np.zeros((b, params.trades), dtype=bool), last=np.full(b, -1, dtype=np.int64),
                 cost=np.zeros(b))


def episode_shocks(params: BasketSequenceParams, key) -> list[float]:
    """ξ_1, ..., ξ_n of the episode with noise key ``key`` (ξ_t at index t − 1): the scalar env draws them
    at reset. Without noise (σ = 0) :func:`trade_reward` does not read them: zeros, nothing drawn."""
    n = params.trades
    if not variant(params).noisy:
        return [0.0] * n
    return standard_normals(np.full(n, key, dtype=np.uint64), np.arange(1, n + 1)).tolist()


def observe(params: BasketSequenceParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2n) float32: [done flags (n), one-hot of the last trade (n; all 0 before the first)]."""
    return _observe(batch.done, batch.last)


@numba.njit(cache=True)
def _observe(done, last):
    b, n = done.shape
    out = np.zeros((b, 2 * n), dtype=np.float32)
    for i in range(b):
        for j in range(n):
            if done[i, j]:
                out[i, j] = 1.0
        if last[i] >= 0:
            out[i, n + last[i]] = 1.0
    return out


def decode(params: BasketSequenceParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(done flags (b, n) bool, last trade (b,) int64, −1 for none) from a batch of observations."""
    n = params.trades
    observations = np.asarray(observations)
    if observations.ndim != 2 or observations.shape[1] != 2 * n:
        raise ValueError(f"observations must have shape (batch, 2n) = (batch, {2 * n}), got {observations.shape}")
    one_hot = observations[:, n:] > 0.5
    return observations[:, :n] > 0.5, np.where(one_hot.any(axis=1), one_hot.argmax(axis=1), -1)


def action_masks(batch: Batch) -> np.ndarray:
    """(b, n) bool: the trades not yet done (all False once the episode is over)."""
    return ~batch.done


def observation_masks(params: BasketSequenceParams, observations: np.ndarray) -> np.ndarray:
    """(b, n) bool from observations: the trades not yet done, the same as :func:`action_masks` of the state."""
    done, _ = decode(params, observations)
    return ~done


def step(params: BasketSequenceParams, batch: Batch, actions: np.ndarray) -> Transition:
    """Execute trade ``actions`` (b,) in every episode of ``batch`` (none finished): the cost of
    :func:`cost_index` and :func:`trade_reward`, with ξ_t drawn per episode, t = |D| + 1."""
    actions = checked_actions(params, batch.done, actions)
    v, m, table = batch_market(params)
    done, cost, reward, terminated = _step_loop(v)(m, table, batch.key, batch.done, batch.last, batch.cost,
                                                   actions)
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, done=done, last=actions, cost=cost)
    return Transition(batch=new, reward=reward, terminated=terminated)


@lru_cache(maxsize=None)
def _step_loop(v: Variant):
    """The trade (:func:`cost_index`, :func:`trade_reward`) over a batch, compiled for variant ``v`` (its
    flags compile-time constants; one compilation, about a second, per variant and process). The shock ξ_t
    is :func:`~execgym.noise.standard_normals` of (key, t), drawn per element."""

    @numba.njit
    def loop(m, table, key, done, last, cost, actions):
        b, n = done.shape
        new_done = done.copy()
        new_cost, reward = np.empty(b), np.empty(b)
        terminated = np.empty(b, dtype=np.bool_)
        for i in range(b):
            steps = 0
            for j in range(n):
                if done[i, j]:
                    steps += 1
            shock = 0.0
            if v.noisy:
                shock = normal_quantile(uniform_draw(key[i], np.uint64(steps + 1)))
            step_cost = table[cost_index(m, last[i], actions[i])]
            reward[i] = trade_reward(v, m, step_cost, shock)
            new_cost[i] = cost[i] + step_cost
            new_done[i, actions[i]] = True
            terminated[i] = steps + 1 == n
        return new_done, new_cost, reward, terminated

    return loop


def checked_actions(params: BasketSequenceParams, done: np.ndarray, actions) -> np.ndarray:
    """``actions`` as (b,) int64, checked against the done flags ``done`` (b, n): integers in 0..n−1, none
    already done."""
    b, n = done.shape[0], params.trades
    actions = action_array(actions, f"Discrete({n})", INTEGER_KINDS)
    if actions.size != b or actions.ndim > 1:
        raise ValueError(f"action must be {'an integer' if b == 1 else f'{b} integers (shape ({b},))'} in "
                         f"0..{n - 1}, got {actions!r}")
    actions = actions.reshape(b).astype(np.int64)
    if _first_invalid(done, actions) < 0:
        return actions
    if (actions < 0).any() or (actions >= n).any():
        raise ValueError(f"action must be a trade in 0..{n - 1} (trades - 1), got {actions.min()}..{actions.max()}")
    i = _first_invalid(done, actions)
    where = f" in slot {i}" if b > 1 else ""
    raise ValueError(f"action {actions[i]}{where} is masked: trade {actions[i]} is already done; allowed: "
                     f"{np.flatnonzero(~done[i]).tolist()} (info['action_mask'], env.action_masks())")


@numba.njit(cache=True)
def _first_invalid(done, actions):
    """The first slot whose action is outside 0..n−1 or a trade already done, −1 if none."""
    n = done.shape[1]
    for i in range(actions.size):
        if actions[i] < 0 or actions[i] >= n or done[i, actions[i]]:
            return i
    return -1
