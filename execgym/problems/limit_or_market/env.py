"""LimitOrMarket-v0: finish a child order before a deadline, choosing each step a limit order or a market order.

| | |
|---|---|
| Observation | Box(0, 1, (2,)) float32: steps left (K − t)/K, lots left n/N |
| Action | Discrete(L + 1 + F): 0..L a limit order for the lots left at that many ticks behind the touch; L + 1 + i a market order for ⌈f_i·n⌉ lots |
| Reward | the step's sales against the mid plus the change in the held lots' value, bps of the order: Σ reward = the order's price improvement over the arrival mid |
| Termination | when the order is done, at the latest after K steps (``terminated=True``; no truncation) |
| Oracle | backward induction over (steps left, lots left), :mod:`execgym.solvers.dp`; O(K·N²·(L + F)) |

## Description

A trader must sell N lots within K steps. Each step they either rest a sell
limit order for every lot left at d = 0..L ticks behind the best ask (d = 0:
at the touch), which earns the half spread plus d ticks over the mid on each
lot that fills but may not fill, or send a market order for part or all of
what is left, which sells at once but pays the half spread and, beyond the
bid's size, walks the book. The mid-price moves as a random walk on the tick
grid, and fills can be adversely selected: a resting sell order fills more
often when the price moves up through it. Whatever is left after step K is
sold by a market order. Seed 001's bandit is the case K = 1: the oracle is
the arg-max of fill probability × profit over the depths, against the market
order. Parameters and the market model: :mod:`.params`; one step: :mod:`.dynamics`.

## Action Space

``Discrete(L + 1 + F)`` (7 by default): action d in 0..L rests a limit order
at depth d; action L + 1 + i sends a market order for ⌈f_i·n⌉ of the n lots
left (``market_fractions``, default ½ and all). An action outside the range,
or not an integer, raises ``ValueError``.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0 | steps left (K − t)/K | 0 | 1 |
| 1 | lots left n/N | 0 | 1 |

This is a sufficient state: the mid's increments are independent of the
past, so the value is V = n·x·tick_bps/N + W(steps left, n), with x the mid's
distance from the arrival mid, and the optimal action does not depend on x
(:mod:`.oracle`). ``info`` carries x.

## Rewards

bps of the order's arrival value, c = tick_bps/N per lot and tick: the
step's sales against the mid at which they sell (c·(h + d) per lot filled at
depth d, −c·(m·h + w(m)) for a market order of m lots), plus the change in
the mark-to-market value of the lots still held, c·held·ΔS. Summed over the
episode this is the order's average sale price minus the arrival mid S_0,
in bps of S_0: its price improvement (the implementation shortfall with the
sign flipped), equal to ``info["improvement_bps"]`` at the end. E[Σ reward]
is what the oracle maximises; each reward depends on the lots left, the
action, the fills and the move, not on the price level, so the observation
is a Markov state for the rewards too (:mod:`.dynamics`).

## Episode End

Terminated when the last lot is sold, at the latest at step K (the deadline's
market order). No truncation.

## Arguments

``gym.make("LimitOrMarket-v0", **fields)`` with any field of
:class:`~.params.LimitOrMarketParams` (or ``params=``);
``gym.make_vec("LimitOrMarket-v0", num_envs=k, ...)`` returns the natively
batched :class:`LimitOrMarketVectorEnv`; with ``markets=[...]`` (params or
dicts of keyword parameters, one per slot) slot i plays in market i, all
with one action space (the same L + 1 + F; the order, deadline, book, fills
and price walk may differ).

``info`` (after reset and per step): ``lots_left`` n, ``mid_ticks`` x (ticks
from the arrival mid), ``improvement_bps`` (the realised improvement of the
lots sold so far over S_0, bps of the order); after a step
also ``limit_filled`` and ``market_sold`` (lots, in the step; the deadline's
market order counts as sold by market) and ``expected_reward``, E[reward |
state, action] (bps: the reward averaged over the step's move and fills,
:func:`.dynamics.expected_reward`).

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the lots left beside their expectation under the oracle's policy, and the
mid, with the last actions and the oracle's action in the current state; or
``"ansi"``, a short text of the current state. The vector env renders one per
slot (:mod:`execgym.rendering`).

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`; in the scalar env
also a list of markets) draws each episode's market from the family's distribution (:mod:`.distribution`,
which documents its prior, its out-of-distribution regime and its features), the same in the scalar env at
seed s + i as in slot i of the vector env at seed s; the observation then ends with the market's features
(``observe_market=False``: nothing; ``"index"``: its index in the set) and ``info["market"]`` is its index.

## Oracle

``execgym.make_oracle("LimitOrMarket-v0", **fields)`` (:mod:`.oracle`): exact
backward induction over (steps left, lots left), with the binomial number of
lots filled and the price move as the successors; the default order solves
in about a millisecond. Baselines (:mod:`.policies`): always market, at the
touch until the deadline, a fixed depth; :func:`~.oracle.policy_value` gives
any policy table's exact value.

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.limit_or_market import dynamics
from execgym.problems.limit_or_market.distribution import DISTRIBUTION
from execgym.problems.limit_or_market.oracle import expected_lots_left
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch
from execgym.validation import INTEGER_KINDS, action_array


def observation_space(params: LimitOrMarketParams) -> gym.spaces.Box:
    """Box(0, 1, (2,)): steps left and lots left, as fractions of K and N."""
    return gym.spaces.Box(low=0.0, high=1.0, shape=(2,), dtype=np.float32)


def action_space(params: LimitOrMarketParams) -> gym.spaces.Discrete:
    """Discrete(L + 1 + F): limit orders at depths 0..L, then the market orders."""
    return gym.spaces.Discrete(params.num_actions)


def checked_actions(params: LimitOrMarketParams, actions, n: int | None):
    """The actions as the step takes them: one action (an int back) when ``n`` is None, else ``n`` actions
    ((n,) int64); ValueError unless they are integers in 0..L+F, one per episode."""
    if n is None:
        if type(actions) is int and 0 <= actions < params.num_actions:
            return actions
        if isinstance(actions, np.integer) and 0 <= actions < params.num_actions:
            return int(actions)
        return int(checked_actions(params, actions, 1)[0])
    actions = action_array(actions, f"Discrete({params.num_actions})", INTEGER_KINDS)
    if actions.size != n or actions.ndim > 1:
        expected = "an integer" if n == 1 else f"{n} integers (shape ({n},))"
        raise ValueError(f"action must be {expected}, got shape {actions.shape}")
    actions = actions.reshape(n).astype(np.int64)
    if (actions < 0).any() or (actions >= params.num_actions).any():
        raise ValueError(f"action must be in 0..{params.num_actions - 1} (limit depths 0..{params.max_depth}, then "
                         f"{len(params.market_fractions)} market orders), got {actions.min()}..{actions.max()}")
    return actions


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record (floats) or a table (float64 arrays): the counts times 1.0."""
    return {"lots_left": 1.0 * state.lots_left, "mid_ticks": 1.0 * state.mid, "improvement_bps": state.improvement}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state and report record or a table of each: the reset's entries and the
    lots the step sold and its expected reward (one dict literal: the scalar env builds it every step)."""
    return {"lots_left": 1.0 * state.lots_left, "mid_ticks": 1.0 * state.mid, "improvement_bps": state.improvement,
            "limit_filled": 1.0 * report.limit_filled, "market_sold": 1.0 * report.market_sold,
            "expected_reward": report.expected_reward}


def action_name(params: LimitOrMarketParams, action: int) -> str:
    """``limit@d`` (a limit order d ticks behind the touch) or ``market f%`` (a market order for ⌈f·n⌉)."""
    if action < params.depths:
        return f"limit@{action}"
    return f"market {params.market_fractions[action - params.depths]:.0%}"


def _lots_left(scene: Scene) -> list[Line]:
    lines = [Line("agent", scene.trace.series("lots_left"), steps=True)]
    if scene.reference is not None:
        lines.append(Line("oracle E[lots left]", scene.reference[0], color=1, oracle=True))
    return lines


def _actions(scene: Scene) -> str:
    trace, params = scene.trace, scene.params
    text = ", ".join(action_name(params, a.item()) for a in trace.actions[-4:]) or "-"
    if scene.reference is None or trace.infos[-1]["lots_left"] == 0 or trace.elapsed >= params.deadline:
        return f"last actions: {text}"
    now = scene.reference[1][trace.elapsed, int(trace.infos[-1]["lots_left"])]
    return f"last actions: {text}   oracle now: {action_name(params, int(now))}"


SKETCH = Sketch(
    title="LimitOrMarket", xlabel="step", horizon=lambda params: params.deadline,
    panels=(Panel("lots left", _lots_left),
            Panel("mid (ticks from arrival)",
                  lambda scene: [Line("mid", scene.trace.series("mid_ticks"), steps=True)])),
    readouts=(Readout("lots left", "lots_left", "{:.0f}"), Readout("mid", "mid_ticks", "{:+.0f} ticks"),
              Readout("improvement", "improvement_bps", "{:+.3f} bps")),
    reward_units="bps",
    reference=lambda params, oracle: (expected_lots_left(params, oracle.solution.policy), oracle.solution.policy),
    caption=_actions)


PROBLEM = BatchedProblem(
    params_class=LimitOrMarketParams,
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=action_space,
    controls=checked_actions,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    distribution=DISTRIBUTION,
)


class LimitOrMarketEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the step of :func:`dynamics.advance` on Python
    numbers, the same arithmetic the vector env compiles over its batch. Reset with seed s plays the episodes
    of slot i of a vector env reset with seed s − i."""

    problem = PROBLEM


class LimitOrMarketVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (infos as in SyncVectorEnv). Slot i reset with seed s plays the episodes of a scalar env reset with
    seed s + i."""

    problem = PROBLEM
