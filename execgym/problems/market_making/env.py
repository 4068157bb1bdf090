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
NaN, a wrong shape or an action that is not real numbers (None, booleans,
strings, complex numbers) raises ``ValueError``. With ``tick_size`` h:
``MultiDiscrete([M + 1, M + 1])`` (M = δ_max/h), depths i·h; indices out of
range and anything but integers raise. :func:`depth_actions` is the inverse map.

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
  Where u(Π) is below the most negative float64 (Π < −71 at γ = 10; the
  bound is −min(709.78, ln(γ·1.8e308))/γ) the step raises ValueError.

## Episode End

Terminated after N steps. No truncation.

## Arguments

``gym.make("MarketMaking-v0", **fields)`` with any field of
:class:`~.params.MarketMakingParams` (or ``params=``);
``gym.make_vec("MarketMaking-v0", num_envs=k, ...)`` returns the natively
batched :class:`MarketMakingVectorEnv`; ``markets=[...]`` (or the reset option
``{"markets": ...}``) gives each slot its own market, all with the same number
of ticks (or continuous depths), objective, fill rule and price shocks
(:class:`~execgym.batched_env.BatchedVectorEnv`).

``info`` (after reset and per step): ``inventory`` q (shares), ``cash`` X,
``mid_price`` S, ``wealth`` X + q·S and ``profit`` Π so far (currency); after
a step also ``bid_filled`` and ``ask_filled`` (0 or 1) and ``expected_reward``, E[reward | state, action]
(currency: the reward averaged over the step's fills and price move, :func:`.dynamics.expected_reward`).

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the inventory, and the mid with the bid and ask quoted beside the oracle's
quotes at the same states (the current one included); or ``"ansi"``, a short
text of the current state. The vector env renders one per slot
(:mod:`execgym.rendering`).

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`; in the scalar env
also a list of markets) draws each episode's market from the family's distribution (:mod:`.distribution`,
which documents its prior, its out-of-distribution regime and its features), the same in the scalar env at
seed s + i as in slot i of the vector env at seed s; the observation then ends with the market's features
(``observe_market=False``: nothing; ``"index"``: its index in the set) and ``info["market"]`` is its index.

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

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.market_making import dynamics
from execgym.problems.market_making.distribution import DISTRIBUTION
from execgym.problems.market_making.params import MarketMakingParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch
from execgym.validation import INTEGER_KINDS, REAL_KINDS, action_array


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


def _space_name(params: MarketMakingParams) -> str:
    """The single-episode action space in words, for messages."""
    return f"MultiDiscrete([{params.ticks + 1}, {params.ticks + 1}])" if params.discrete else "Box(-1, 1, (2,))"


def controls(params: MarketMakingParams, actions, n: int | None):
    """The controls the step reads (:func:`dynamics.quote_depth`: tick counts, or actions in [−1, 1] the step
    clips) of one action of shape (2,) when ``n`` is None (a list [bid, ask] of Python numbers back), else of
    ``n`` actions (n, 2) (an (n, 2) int64 or float64 array back); ValueError on a wrong shape or type, NaN or a
    tick count out of range."""
    actions = action_array(actions, _space_name(params), INTEGER_KINDS if params.discrete else REAL_KINDS)
    count = 1 if n is None else n
    if actions.size != 2 * count or actions.ndim > 2 or (actions.ndim == 2 and actions.shape != (count, 2)):
        expected = "(2,)" if count == 1 else f"({n}, 2)"
        raise ValueError(f"action must have shape {expected} ([bid, ask]), got {actions.shape}")
    if n is None:
        values = actions.ravel().tolist()
    else:
        values = np.asarray(actions.reshape(n, 2), dtype=np.int64 if params.discrete else np.float64)
    if params.discrete:
        low, high = (min(values), max(values)) if n is None else (values.min(), values.max())
        if low < 0 or high > params.ticks:
            raise ValueError(f"action must be tick counts in 0..{params.ticks} (max_depth / tick_size), got "
                             f"{low}..{high}")
    elif (values[0] != values[0] or values[1] != values[1]) if n is None else np.isnan(values.min()):
        raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return values


def depths_of(params: MarketMakingParams, actions, n: int) -> np.ndarray:
    """(n, 2) depths, currency, the actions of n episodes quote in ``params`` (see Action Space; the errors of
    :func:`controls`)."""
    return dynamics.quote_depths(params, controls(params, actions, n))


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record (numbers) or a table (arrays)."""
    return {"inventory": state.inventory * 1.0, "cash": state.cash, "mid_price": state.mid,
            "wealth": state.cash + state.inventory * state.mid, "profit": state.profit}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state and report record or a table of each."""
    return {"inventory": state.inventory * 1.0, "cash": state.cash, "mid_price": state.mid,
            "wealth": state.cash + state.inventory * state.mid, "profit": state.profit,
            "bid_filled": report.bid_filled * 1.0, "ask_filled": report.ask_filled * 1.0,
            "expected_reward": report.expected_reward}


def _quotes(scene: Scene) -> list[Line]:
    """The mid, the bid and ask quoted at each step (mid ∓ depth), and the oracle's at the states visited
    (the current one included while the episode runs)."""
    trace, params = scene.trace, scene.params
    mid = scene.trace.series("mid_price")
    lines = [Line("mid", mid)]
    depths = depths_of(params, np.array(trace.actions), trace.elapsed) if trace.actions else np.zeros((0, 2))
    quoted = mid[:trace.elapsed]
    lines += [Line("bid", quoted - depths[:, 0], color=2, steps=True),
              Line("ask", quoted + depths[:, 1], color=3, steps=True)]
    if scene.reference is not None:
        states = min(len(trace.observations), params.steps)
        optimal = scene.reference.depths(np.array(trace.observations[:states]))
        lines += [Line("oracle bid", mid[:states] - optimal[:, 0], color=2, oracle=True, steps=True),
                  Line("oracle ask", mid[:states] + optimal[:, 1], color=3, oracle=True, steps=True)]
    return lines


SKETCH = Sketch(
    title="MarketMaking", xlabel="step n", horizon=lambda params: params.steps,
    panels=(Panel("inventory q (shares)",
                  lambda scene: [Line("inventory", scene.trace.series("inventory"), steps=True)]),
            Panel("price (currency/share)", _quotes)),
    readouts=(Readout("inventory", "inventory", "{:+.0f} sh"), Readout("mid", "mid_price", "{:.4f}"),
              Readout("cash", "cash", "{:,.2f}"), Readout("profit", "profit", "{:,.2f}")),
    reward_units="currency", reference=lambda params, oracle: oracle.policy)


PROBLEM = BatchedProblem(
    params_class=MarketMakingParams,
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=action_space,
    controls=controls,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    check_step=dynamics.check_utility,
    distribution=DISTRIBUTION,
)


class MarketMakingEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the step of :func:`dynamics.advance` on Python
    numbers, the same arithmetic the vector env compiles over its batch, with the episode's draws taken at
    reset. Reset with seed s plays the episodes of slot i of a vector env reset with seed s − i."""

    problem = PROBLEM


class MarketMakingVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (infos as in SyncVectorEnv). Slot i reset with seed s plays the episodes of a scalar env reset with
    seed s + i."""

    problem = PROBLEM
