"""BasketSequence-v0: choose the order of n basket trades; each trade's cost depends on the one before it.

| | |
|---|---|
| Observation | Box(0, 1, (2n,)) float32: done flag per trade, one-hot of the last trade |
| Action | Discrete(n): the next trade; trades already done are masked (``action_masks()``, ``info["action_mask"]``) and raise |
| Reward | −(d_{ℓj} + σ·ξ), or −(a_j + σ·ξ) for the first trade; bps of the basket's notional |
| Termination | after n trades (``terminated=True``; no truncation) |
| Oracle | Held–Karp DP (:func:`~execgym.solvers.sequencing.held_karp`), exact, O(n²·2ⁿ) time, O(n·2ⁿ) memory, n <= 16 |
| Above 16 trades | ``heuristic=True``: nearest neighbour + 2-opt, a bound (``bound_only``), O(n³) |

## Description

A trader must execute a basket of n trades, one after another. Trading one
name leaves impact in the prices of the names correlated with it, so what a
trade costs depends on the trade just before it: d_ij for trade j right after
trade i, an asymmetric matrix built from the trades' sizes, sides, impacts and
correlations (or supplied by the user); the construction and its units are in
:mod:`execgym.problems.basket_sequence.params`. Finding the cheapest order is
the shortest Hamiltonian path through the trades, an asymmetric travelling
salesperson problem without the return leg.

## Action Space

``Discrete(n)``: the index of the next trade. A trade already done is masked:
``env.action_masks()`` (the method sb3-contrib's ``MaskablePPO`` calls) and
``info["action_mask"]`` give the (n,) boolean mask of allowed trades; choosing
a masked trade, a non-integer or an index outside 0..n−1 raises ``ValueError``.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0..n−1 | 1 if trade i is done, else 0 | 0 | 1 |
| n..2n−1 | 1 at the last trade executed (all 0 before the first) | 0 | 1 |

This is the whole state: the costs still to come depend only on the trades
left and the last one.

## Rewards

In basis points of the basket's notional W = Σ N_i, per trade t = 1..n
(ℓ the previous trade)::

    r_t = −(a_j + σ·ξ_1) for the first trade j,   r_t = −(d_{ℓj} + σ·ξ_t) after,

with σ = ``cost_noise`` and ξ_t standard normal, drawn from the episode seed
and t only (the same for every policy). Hence, for an order π::

    Σ_t r_t = −C(π) − σ·Σ_t ξ_t,    E[Σ_t r_t] = −C(π) = −(a_{π_1} + Σ_t d_{π_{t−1} π_t})

and on a common seed two policies' returns differ by exactly their cost
difference.

## Episode End

Terminated after the n-th trade. No truncation.

## Arguments

``gym.make("BasketSequence-v0", **fields)`` with any field of
:class:`~.params.BasketSequenceParams` (or ``params=``);
``gym.make_vec("BasketSequence-v0", num_envs=k, ...)`` returns the natively
batched :class:`BasketSequenceVectorEnv`.

``info`` (after reset and per step): ``action_mask`` (n,) bool, the trades
still allowed (all False at the end), and ``cost``, the expected cost of the
trades done so far, bps (noise excluded); per step also ``trade_cost``, the
expected cost of the trade just done (a_j or d_ℓj, bps), and ``expected_reward``,
minus it (E[reward | state, action], what :mod:`execgym.wrappers` and set
scoring read).

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the cost so far and the cost of each trade beside those of the oracle's
order (Held–Karp; the 2-opt order above 16 trades), with the trades done and
that order; or ``"ansi"``, a short text of the current state. The vector env
renders one per slot (:mod:`execgym.rendering`).

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`; in the scalar env
also a list of markets) draws each episode's market from the family's distribution (:mod:`.distribution`,
which documents its prior, its out-of-distribution regime and its features), the same in the scalar env at
seed s + i as in slot i of the vector env at seed s; the observation then ends with the market's features
(``observe_market=False``: nothing; ``"index"``: its index in the set) and ``info["market"]`` is its index.

## Oracle

``execgym.make_oracle("BasketSequence-v0", **fields)`` (:mod:`.oracle`): the
Held–Karp cost-to-go V(D, ℓ) prices every state, and the policy picks
argmin_{j ∉ D} d_{ℓj} + V(D ∪ {j}, j) from the observation, so it is optimal
from any state, on the optimal path or off it; ``expected_return`` = −C*.
More than 16 trades raise unless ``heuristic=True``. Baselines: :mod:`.policies`
(the order as given, greedy nearest neighbour).

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.basket_sequence import dynamics
from execgym.problems.basket_sequence.distribution import DISTRIBUTION
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch


def observation_space(params: BasketSequenceParams) -> gym.spaces.Box:
    """The single-episode observation space: 2n numbers in [0, 1]."""
    return gym.spaces.Box(low=0.0, high=1.0, shape=(2 * params.trades,), dtype=np.float32)


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record (floats) or a table (arrays)."""
    return {"action_mask": dynamics.action_masks(state), "cost": state.cost}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state and report record or a table of each."""
    return {"action_mask": dynamics.action_masks(state), "cost": state.cost, "trade_cost": report.trade_cost,
            "expected_reward": report.expected_reward}


def order_costs(params: BasketSequenceParams, order) -> np.ndarray:
    """The expected cost of each trade of ``order`` (trade indices) in turn, bps of W: a_j for the first,
    then d_ij of each consecutive pair."""
    order = np.asarray(order, dtype=np.int64)
    return np.concatenate([params.first_costs[order[:1]], params.costs[order[:-1], order[1:]]])


def _reference(params: BasketSequenceParams, oracle) -> tuple[np.ndarray, np.ndarray, str]:
    """(the oracle's order, the cost of each of its trades, its name)."""
    return oracle.order, order_costs(params, oracle.order), "2-opt" if oracle.bound_only else "Held–Karp"


def _done(scene: Scene) -> list[int]:
    return [int(action.item()) for action in scene.trace.actions]


def _cumulative(scene: Scene) -> list[Line]:
    lines = [Line("agent", scene.trace.series("cost"))]
    if scene.reference is not None:
        _, costs, name = scene.reference
        lines.append(Line(f"{name} order", np.concatenate([[0.0], np.cumsum(costs)]), color=1, oracle=True))
    return lines


def _each(scene: Scene) -> list[Line]:
    costs = np.diff(scene.trace.series("cost"))
    lines = [Line("agent", costs, x=np.arange(1, costs.size + 1))]
    if scene.reference is not None:
        _, costs, name = scene.reference
        lines.append(Line(f"{name} order", costs, x=np.arange(1, costs.size + 1), color=1, oracle=True))
    return lines


def _orders(scene: Scene) -> str:
    text = "done: " + (" ".join(map(str, _done(scene))) or "-")
    if scene.reference is None:
        return text
    order, _, name = scene.reference
    return f"{text}   {name}: {' '.join(map(str, order.tolist()))}"


SKETCH = Sketch(
    title="BasketSequence", xlabel="trades done", horizon=lambda params: params.trades,
    panels=(Panel("cost so far (bps of W)", _cumulative, legend="upper left"),
            Panel("cost of the trade (bps of W)", _each)),
    readouts=(Readout("cost", "cost", "{:.3f} bps"),), reward_units="bps", reference=_reference,
    caption=_orders)


PROBLEM = BatchedProblem(
    params_class=BasketSequenceParams,
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=lambda params: gym.spaces.Discrete(params.trades),
    controls=dynamics.trades_of,
    check_controls=dynamics.check_trades,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    distribution=DISTRIBUTION,
)


class BasketSequenceEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the trade of :func:`dynamics.advance` on Python
    floats and ints, the same arithmetic the vector env compiles over its batch. Actions are checked by
    :func:`.dynamics.trades_of` and :func:`.dynamics.check_trades`. Reset with seed s plays the episodes of
    slot i of a vector env reset with seed s − i."""

    problem = PROBLEM

    def action_masks(self) -> np.ndarray:
        """(n,) bool: the trades allowed now (not yet done); for sb3-contrib's MaskablePPO."""
        if self._stream is None:
            return np.ones(self.params.trades, dtype=bool)
        return dynamics.action_masks(self.state)


class BasketSequenceVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with no Python loop over them.

    Autoreset is Gymnasium's SAME_STEP mode: an episode that ends is replaced
    in the same call by the next episode of its slot; its last observation and
    info are under ``info["final_obs"]`` (a float32 array (num_envs, 2n); rows
    of slots not done are not meaningful) and ``info["final_info"]``, with masks
    ``info["_final_obs"]`` and ``info["_final_info"]``; the top-level entries
    of a restarted slot are its new episode's. The infos equal those of
    ``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)`` over
    :class:`BasketSequenceEnv`. Slot i reset with seed s plays the episodes of
    a scalar env reset with seed s + i. ``action_masks()`` gives (num_envs, n).
    """

    problem = PROBLEM

    def action_masks(self) -> np.ndarray:
        """(num_envs, n) bool: the trades allowed now in each slot."""
        if self._batch is None:
            return np.ones((self.num_envs, self.params.trades), dtype=bool)
        return dynamics.action_masks(self._batch.state)
