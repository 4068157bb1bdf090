"""OptimalExecRegimes-v0: liquidate a block of shares in a market that switches between calm and stressed.

| | |
|---|---|
| Observation | Box(3 + R) float32: time remaining, inventory remaining, normalised price move, one indicator per regime |
| Action | Box(−1, 1, (1,)): the fraction f = (a + 1)/2 of the remaining shares traded this period |
| Reward | −(shortfall increment + λ·v_r²σ²τ·x_k²), bps of arrival notional |
| Termination | after N periods (``terminated=True``; no truncation) |
| Oracle | coupled Riccati recursions of the Markov-jump LQ problem (:mod:`.oracle`), O(N·R²) |

## Description

OptimalExec-v0's liquidation (:mod:`execgym.problems.optimal_exec.env`) in a market whose volatility and
liquidity switch between R regimes following a Markov chain observed by the trader (:mod:`.params`): in a
stressed period prices move more and trading costs more. The optimal trader sells faster when calm if
stress may come, and trades less while stressed if calm is likely to return; the best schedule that does not
watch the regime (``blind``) is worse by an exact amount, the value of observing it.

## Action Space

``Box(-1, 1, shape=(1,), float32)``: f = (a + 1)/2 of the remaining shares is traded (a = −1: nothing, a = 1:
everything); the last period trades whatever is left. Actions outside [−1, 1] are clipped; NaN, a wrong shape
or an action that is not real numbers raises ``ValueError``.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0 | time remaining (N − k)/N | 0 | 1 |
| 1 | inventory remaining x_k/X | 0 | 1 |
| 2 | price move since arrival (S_k − S0)/(σ√T) | −inf | inf |
| 3..2+R | 1 for the regime of the next period, 0 for the others | 0 | 1 |

## Rewards

In bps of the arrival notional X·S0, per period k in regime r (:mod:`.dynamics`)::

    r_k = −[ n_k·(ε + ℓ_r·η·n_k/τ) − s·(S_k − S_{k−1})·x_k + λ·v_r²σ²τ·x_k² ] · 10⁴/(X·S0)

so E[Σ r_k] is minus the expected implementation shortfall plus the expected risk penalty, the objective the
oracle minimises over all policies that see the regime.

## Arguments

``gym.make("OptimalExecRegimes-v0", **fields)`` with any field of :class:`~.params.RegimeExecParams`;
``gym.make_vec(..., num_envs=n)`` is natively batched. ``info`` (per step): ``shares_traded``,
``execution_price``, ``expected_reward`` (the reward without the price shock's term), ``inventory``,
``shortfall``, ``price``, ``regime`` (of the next period). After ``reset``: ``inventory``, ``shortfall``,
``price``, ``regime``.

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`, or in the scalar env a
list) draws each episode's market from :mod:`.distribution` (OptimalExec-v0's stocks, each with its stress); the
observation then ends with the market's features and ``info["market"]`` is its index.

## Oracle

``execgym.make_oracle("OptimalExecRegimes-v0", **fields)``: the optimal trade per (period, regime), a fraction
of the remaining shares, its exact E[Σ reward] and the expected holdings per period (:mod:`.oracle`).

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.optimal_exec.env import action_space, fractions, holdings_panel
from execgym.problems.regime_exec import dynamics
from execgym.problems.regime_exec.distribution import DISTRIBUTION
from execgym.problems.regime_exec.params import RegimeExecParams
from execgym.rendering import Line, Panel, Readout, Sketch


def observation_space(params: RegimeExecParams) -> gym.spaces.Box:
    """The single-episode observation space (table above)."""
    regimes = params.regimes
    low = np.array([0.0, 0.0, -np.inf] + [0.0] * regimes, dtype=np.float32)
    high = np.array([1.0, 1.0, np.inf] + [1.0] * regimes, dtype=np.float32)
    return gym.spaces.Box(low=low, high=high, dtype=np.float32)


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record or a table."""
    return {"inventory": state.inventory, "shortfall": state.shortfall, "price": state.price,
            "regime": state.regime}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state and report record or a table of each."""
    return {"shares_traded": state.last_trade, "execution_price": report.execution_price,
            "expected_reward": report.expected_reward, "inventory": state.inventory, "shortfall": state.shortfall,
            "price": state.price, "regime": state.regime}


SKETCH = Sketch(
    title="OptimalExecRegimes", xlabel="period k", horizon=lambda params: params.periods,
    panels=(Panel("holdings x_k (shares)", holdings_panel),
            Panel("regime r_k", lambda scene: [Line("regime", scene.trace.series("regime"))])),
    readouts=(Readout("inventory", "inventory", "{:,.0f} sh"), Readout("regime", "regime", "{:.0f}"),
              Readout("shortfall", "shortfall", "{:,.2f}")),
    reward_units="bps", reference=lambda params, oracle: oracle.schedule)


PROBLEM = BatchedProblem(
    params_class=RegimeExecParams,
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=lambda params: action_space(),
    controls=fractions,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    distribution=DISTRIBUTION,
)


class RegimeExecEnv(EpisodeEnv):
    """One episode at a time: the period of :func:`dynamics.advance` on Python floats."""

    problem = PROBLEM


class RegimeExecVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the compiled dynamics (Gymnasium's SAME_STEP autoreset, as
    :class:`~execgym.problems.optimal_exec.env.OptimalExecVectorEnv`)."""

    problem = PROBLEM
