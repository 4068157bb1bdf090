"""MarketMaking-v0: quote a bid and an ask around a moving mid-price; earn the spread, control the inventory.

| | |
|---|---|
| Observation | Box (2,) float32: time remaining (N − n)/N, inventory q/Q̄ |
| Action | Box(−1, 1, (2,)): bid and ask depths δ = (a + 1)/2·δ_max; or, with ``tick_size``, MultiDiscrete([M+1, M+1]) tick counts |
| Reward | risk neutral: ΔW − φ·q'²·dt (− α·q_N² at the end), currency; utility: (1 − e^{−γΠ})/γ at the end, 0 before |
| Termination | after N steps (``terminated=True``; no truncation) |
| Oracle | backward induction over (step, inventory) with the one-step optimum of :mod:`execgym.solvers.quotes`; O(N·(2Q̄+1)) |

## Description

A market maker rests a bid at S − δ_b and an ask at S + δ_a around the
mid-price S for each of N steps of length dt. Market orders arrive on each
side as Poisson processes of rate A·e^{−kδ}; a quote fills within the step
with probability 1 − exp(−A·e^{−kδ}·dt) (or A·e^{−kδ}·dt, Avellaneda–Stoikov's
rule, with ``fill_probability="linear"``), one share per fill. The mid-price
follows an arithmetic Brownian motion (or a ±σ√dt random walk). Filling the bid
buys a share below the mid, filling the ask sells one above it: the spread is
the income, and the inventory q it leaves is exposed to the price. Inventory
is bounded by ±Q̄: at Q̄ the bid is not quoted, at −Q̄ the ask. The dynamics,
step by step, and the parameters with their units are in :mod:`.dynamics` and
:mod:`.params`.

## Action Space

``Box(-1, 1, (2,), float32)``: [bid, ask], mapped to depths
δ = (a + 1)/2·δ_max in [0, δ_max]; values outside [−1, 1] are clipped to it,
NaN or a wrong shape raises ``ValueError``. With ``tick_size`` h:
``MultiDiscrete([M + 1, M + 1])`` (M = δ_max/h), depths i·h; indices out of
range raise. :func:`depth_actions` is the inverse map.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0 | time remaining (N − n)/N | 0 | 1 |
| 1 | inventory q/Q̄ | −1 | 1 |

This is a sufficient state: cash and the price level factor out of the
optimal quotes (:mod:`.oracle`).

## Rewards

Currency units. With ΔW = δ_b·1_b + δ_a·1_a + q'·(S' − S), the change in the
mark-to-market wealth W = X + q·S, and q' the inventory after the step's fills:

* ``objective="risk_neutral"`` (Cartea–Jaimungal): r_n = ΔW − φ·q'²·dt, and
  also − α·q_N² at the last step. Σ r = Π = W_N − W_0 − φ·Σ q²·dt − α·q_N²,
  the penalised profit the oracle maximises in expectation.
* ``objective="cara"`` (Avellaneda–Stoikov): 0 until the last step, then
  u(Π) = (1 − e^{−γΠ})/γ: E[Σ r] = E[u(Π)], an exponential utility in
  currency units. E[u] saturates at 1/γ, so regrets in utility units look
  tiny: compare strategies by their certainty equivalent −ln E[e^{−γΠ}]/γ
  (``oracle.certainty_equivalent``, :func:`~.oracle.policy_certainty_equivalent`).

## Episode End

Terminated after N steps. No truncation.

## Arguments

``gym.make("MarketMaking-v0", **fields)`` with any field of
:class:`~.params.MarketMakingParams` (or ``params=``);
``gym.make_vec("MarketMaking-v0", num_envs=k, ...)`` returns the natively
batched :class:`MarketMakingVectorEnv`.

``info`` (after reset and per step): ``inventory`` q (shares), ``cash`` X,
``mid_price`` S, ``wealth`` X + q·S and ``profit`` Π so far (currency); after
a step also ``bid_filled`` and ``ask_filled`` (0 or 1).

## Oracle

``execgym.make_oracle("MarketMaking-v0", **fields)`` (:mod:`.oracle`):
exact backward induction over (step, inventory), 200 steps × 101 levels in
about 0.05 s; ``expected_return`` = V_0(q_0), or E[u(Π)] under "cara".
:func:`~.oracle.discounted_quotes` solves the infinite-horizon discounted
variant by value iteration. Baselines: :mod:`.policies` (symmetric fixed
spread, Avellaneda–Stoikov).

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedEnv, BatchedProblem, BatchedVectorEnv
from execgym.problems.market_making import dynamics
from execgym.problems.market_making.params import MarketMakingParams


def observation_space(params: MarketMakingParams) -> gym.spaces.Box:
    """The single-episode observation space: time remaining in [0, 1], inventory fraction in [−1, 1]."""
    return gym.spaces.Box(low=np.array([0.0, -1.0], dtype=np.float32), high=np.ones(2, dtype=np.float32),
                          dtype=np.float32)


def action_space(params: MarketMakingParams) -> gym.spaces.Space:
    """Box(−1, 1, (2,)) for continuous depths, MultiDiscrete([M+1, M+1]) on a tick grid."""
    if params.discrete:
        return gym.spaces.MultiDiscrete([params.ticks + 1, params.ticks + 1])
    return gym.spaces.Box(low=-1.0, high=1.0, shape=(2,), dtype=np.float32)


def depth_actions(params: MarketMakingParams, depths) -> np.ndarray:
    """The actions quoting ``depths`` (..., 2) in [0, δ_max]: 2δ/δ_max − 1 (float32), or tick counts (int64)."""
    depths = np.asarray(depths, dtype=np.float64)
    if params.discrete:
        return np.rint(depths / params.tick_size).astype(np.int64)
    return (2.0 * depths / params.max_depth - 1.0).astype(np.float32)


def depths_of(params: MarketMakingParams, actions, n: int) -> np.ndarray:
    """(n, 2) depths of the actions of n episodes (see Action Space); ValueError on a wrong shape, NaN or a
    tick index out of range."""
    actions = np.asarray(actions)
    if actions.size != 2 * n or actions.ndim > 2 or (actions.ndim == 2 and actions.shape != (n, 2)):
        expected = "(2,)" if n == 1 else f"({n}, 2)"
        raise ValueError(f"action must have shape {expected} ([bid, ask]), got {actions.shape}")
    actions = actions.reshape(n, 2)
    if params.discrete:
        if actions.dtype.kind not in "iu":
            raise ValueError(f"action must be integer tick counts in 0..{params.ticks}, got dtype {actions.dtype}")
        if (actions < 0).any() or (actions > params.ticks).any():
            raise ValueError(f"action must be tick counts in 0..{params.ticks} (max_depth / tick_size), got "
                             f"{actions.min()}..{actions.max()}")
        return actions * params.tick_size
    actions = actions.astype(np.float64)
    if np.isnan(actions).any():
        raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return 0.5 * (np.clip(actions, -1.0, 1.0) + 1.0) * params.max_depth


def _reset_info(batch: dynamics.Batch) -> dict[str, np.ndarray]:
    return {"inventory": batch.inventory.astype(np.float64), "cash": batch.cash, "mid_price": batch.mid,
            "wealth": batch.wealth, "profit": batch.profit}


def _step_info(transition: dynamics.Transition) -> dict[str, np.ndarray]:
    return {**_reset_info(transition.batch), "bid_filled": transition.bid_filled.astype(np.float64),
            "ask_filled": transition.ask_filled.astype(np.float64)}


PROBLEM = BatchedProblem(
    params_class=MarketMakingParams,
    dynamics=dynamics,
    observation_space=observation_space,
    action_space=action_space,
    controls=depths_of,
    reset_info=_reset_info,
    step_info=_step_info,
    finished=lambda params, batch: bool(batch.elapsed[0] >= params.steps),
)


class MarketMakingEnv(BatchedEnv):
    """Single-episode view of the batched dynamics (a batch of one); see the module docstring."""

    problem = PROBLEM


class MarketMakingVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (infos as in SyncVectorEnv). Slot i reset with seed s plays the episodes of a scalar env reset with
    seed s + i."""

    problem = PROBLEM
