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
trades done so far, bps (noise excluded).

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the cost so far and the cost of each trade beside those of the oracle's
order (Held–Karp; the 2-opt order above 16 trades), with the trades done and
that order; or ``"ansi"``, a short text of the current state. The vector env
renders one per slot (:mod:`execgym.rendering`).

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
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch


def observation_space(params: BasketSequenceParams) -> gym.spaces.Box:
    """The single-episode observation space: 2n numbers in [0, 1]."""
    return gym.spaces.Box(low=0.0, high=1.0, shape=(2 * params.trades,), dtype=np.float32)


def _info(batch: dynamics.Batch) -> dict[str, np.ndarray]:
    return {"action_mask": dynamics.action_masks(batch), "cost": batch.cost.copy()}


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
    dynamics=dynamics,
    observation_space=observation_space,
    action_space=lambda params: gym.spaces.Discrete(params.trades),
    controls=lambda params, actions, n: actions,
    reset_info=_info,
    step_info=lambda transition: _info(transition.batch),
    sketch=SKETCH,
)


class BasketSequenceEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the trade (:func:`dynamics.cost_index`,
    :func:`dynamics.trade_reward`) on Python floats, the same arithmetic the vector env compiles over its
    batch; the observation (:func:`dynamics.observe`'s layout) is updated in place and returned as a copy.
    Actions are checked by :func:`.dynamics.checked_actions` (plain ints in range and not done pass without
    it). Reset with seed s plays the episodes of slot i of a vector env reset with seed s − i."""

    problem = PROBLEM

    def __init__(self, params: BasketSequenceParams | None = None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._variant, self._market, self._table = dynamics.scalar_market(self.params)
        self._done: np.ndarray | None = None

    def _reset(self, seed: int | None):
        n = self.params.trades
        self._shocks = dynamics.episode_shocks(self.params, self._start_episode(seed))
        self._done = np.zeros(n, dtype=bool)
        self._obs = np.zeros(2 * n, dtype=np.float32)   # updated in place, returned as copies
        self._steps, self._last, self._cost = 0, -1, 0.0
        return self._obs.copy(), {"action_mask": ~self._done, "cost": 0.0}

    def _step(self, action):
        j = self._trade(action)
        cost = self._table[dynamics.cost_index(self._market, self._last, j)]
        reward = dynamics.trade_reward(self._variant, self._market, cost, self._shocks[self._steps])
        n = self.params.trades
        self._done[j] = True
        self._obs[j] = 1.0
        if self._last >= 0:
            self._obs[n + self._last] = 0.0
        self._obs[n + j] = 1.0
        self._steps, self._last = self._steps + 1, j
        self._cost += cost
        return (self._obs.copy(), reward, self._steps == n, False,
                {"action_mask": ~self._done, "cost": self._cost})

    def _trade(self, action) -> int:
        """The trade ``action`` asks for, checked (ValueError naming the allowed trades)."""
        if type(action) is int and 0 <= action < self.params.trades and not self._done[action]:
            return action
        return int(dynamics.checked_actions(self.params, self._done[None, :], action)[0])

    def _finished(self) -> bool:
        return self._steps >= self.params.trades

    def action_masks(self) -> np.ndarray:
        """(n,) bool: the trades allowed now (not yet done); for sb3-contrib's MaskablePPO."""
        if self._done is None:
            return np.ones(self.params.trades, dtype=bool)
        return ~self._done


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
        return dynamics.action_masks(self._batch)
