"""Batched dynamics of BasketSequence: one trade for a whole batch of episodes, in pure numpy.

State per episode: the set D of trades done (a boolean row of n flags) and the
last trade ℓ (−1 before the first). Choosing trade j ∉ D::

    cost   = a_j if ℓ = −1 else d_{ℓ j}               expected cost of the step, bps of W
    reward = −(cost + σ·ξ_t),   ξ_t = standard_normals(key, t + 1)   t = trades done before this one
    D' = D ∪ {j},  ℓ' = j;  the episode ends when |D'| = n.

The noise ξ_t depends on the episode key and the step number only, never on
the actions, so every policy on a seed draws the same ξ_1..ξ_n: E[Σ reward] =
−E[C(order)], and two policies' returns on a seed differ by exactly their cost
difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.noise import episode_keys, standard_normals
from execgym.problems.basket_sequence.params import BasketSequenceParams


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

    @property
    def steps(self) -> np.ndarray:
        """(b,) trades done so far."""
        return self.done.sum(axis=1)


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



def observe(params: BasketSequenceParams, batch: Batch) -> np.ndarray:
    """Observations (b, 2n) float32: [done flags (n), one-hot of the last trade (n; all 0 before the first)]."""
    n = params.trades
    obs = np.zeros((len(batch), 2 * n), dtype=np.float32)
    obs[:, :n] = batch.done
    started = batch.last >= 0
    obs[np.flatnonzero(started), n + batch.last[started]] = 1.0
    return obs


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
    """Execute trade ``actions`` (b,) in every episode of ``batch`` (none finished)."""
    actions = checked_actions(params, batch, actions)
    rows = np.arange(len(batch))
    cost = np.where(batch.last >= 0, params.costs[np.maximum(batch.last, 0), actions], params.first_costs[actions])
    steps = batch.steps
    reward = -cost
    if params.cost_noise > 0.0:
        reward = reward - params.cost_noise * standard_normals(batch.key, (steps + 1).astype(np.uint64))
    done = batch.done.copy()
    done[rows, actions] = True
    new = Batch(seed=batch.seed, episode=batch.episode, key=batch.key, done=done, last=actions,
                cost=batch.cost + cost)
    return Transition(batch=new, reward=reward, terminated=steps + 1 == params.trades)


def checked_actions(params: BasketSequenceParams, batch: Batch, actions) -> np.ndarray:
    """``actions`` as (b,) int64, checked: integers in 0..n−1, none already done."""
    b, n = len(batch), params.trades
    actions = np.asarray(actions)
    if actions.dtype.kind not in "iu" or actions.size != b or actions.ndim > 1:
        raise ValueError(f"action must be {'an integer' if b == 1 else f'{b} integers (shape ({b},))'} in "
                         f"0..{n - 1}, got {actions!r}")
    actions = actions.reshape(b).astype(np.int64)
    if (actions < 0).any() or (actions >= n).any():
        raise ValueError(f"action must be a trade in 0..{n - 1} (trades - 1), got {actions.min()}..{actions.max()}")
    repeated = batch.done[np.arange(b), actions]
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        where = f" in slot {i}" if b > 1 else ""
        raise ValueError(f"action {actions[i]}{where} is masked: trade {actions[i]} is already done; allowed: "
                         f"{np.flatnonzero(~batch.done[i]).tolist()} (info['action_mask'], env.action_masks())")
    return actions
