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
batched :class:`MarketMakingVectorEnv`.

``info`` (after reset and per step): ``inventory`` q (shares), ``cash`` X,
``mid_price`` S, ``wealth`` X + q·S and ``profit`` Π so far (currency); after
a step also ``bid_filled`` and ``ask_filled`` (0 or 1).

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the inventory, and the mid with the bid and ask quoted beside the oracle's
quotes at the same states (the current one included); or ``"ansi"``, a short
text of the current state. The vector env renders one per slot
(:mod:`execgym.rendering`).

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


def _action_array(params: MarketMakingParams, actions, space) -> np.ndarray:
    """``actions`` as an array of integers (tick grid) or real numbers, else ValueError naming ``space``."""
    return action_array(actions, space, INTEGER_KINDS if params.discrete else REAL_KINDS)


def _space_name(params: MarketMakingParams) -> str:
    """The single-episode action space in words, for messages."""
    return f"MultiDiscrete([{params.ticks + 1}, {params.ticks + 1}])" if params.discrete else "Box(-1, 1, (2,))"


def depths_of(params: MarketMakingParams, actions, n: int) -> np.ndarray:
    """(n, 2) depths of the actions of n episodes (see Action Space); ValueError on a wrong shape or type, NaN
    or a tick index out of range."""
    actions = _action_array(params, actions, _space_name(params))
    if actions.size != 2 * n or actions.ndim > 2 or (actions.ndim == 2 and actions.shape != (n, 2)):
        expected = "(2,)" if n == 1 else f"({n}, 2)"
        raise ValueError(f"action must have shape {expected} ([bid, ask]), got {actions.shape}")
    actions = actions.reshape(n, 2)
    if params.discrete:
        if (actions < 0).any() or (actions > params.ticks).any():
            raise ValueError(f"action must be tick counts in 0..{params.ticks} (max_depth / tick_size), got "
                             f"{actions.min()}..{actions.max()}")
        return actions * params.tick_size
    return dynamics.quote_depths(params, actions)


def _reset_info(batch: dynamics.Batch) -> dict[str, np.ndarray]:
    return {"inventory": batch.inventory.astype(np.float64), "cash": batch.cash, "mid_price": batch.mid,
            "wealth": batch.wealth, "profit": batch.profit}


def _step_info(transition: dynamics.Transition) -> dict[str, np.ndarray]:
    return {**_reset_info(transition.batch), "bid_filled": transition.bid_filled.astype(np.float64),
            "ask_filled": transition.ask_filled.astype(np.float64)}


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
    dynamics=dynamics,
    observation_space=observation_space,
    action_space=action_space,
    controls=depths_of,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
)


class MarketMakingEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the step of :func:`dynamics.advance` on Python
    numbers, the same arithmetic the vector env compiles over its batch, with the episode's draws taken at
    reset and the step's fill probabilities from :meth:`MarketMakingParams.fill_probabilities` on its two
    quotes (the vector env's on its (b, 2)). Reset with seed s plays the episodes of slot i of a vector env
    reset with seed s − i."""

    problem = PROBLEM

    def __init__(self, params: MarketMakingParams | None = None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._variant, self._market = dynamics.market(self.params)

    def _reset(self, seed: int | None):
        self._bid_draws, self._ask_draws, self._shocks = dynamics.episode_noise(self.params,
                                                                                self._start_episode(seed))
        self._elapsed, self._inventory = 0, self.params.initial_inventory
        self._cash, self._mid, self._profit = 0.0, self.params.mid_price, 0.0
        return self._observation(), self._info()

    def _step(self, action):
        n = self._elapsed
        depths = self._depths(action)
        bid_filled, ask_filled, inventory, cash, mid, profit, reward, terminated = dynamics.advance(
            self._variant, self._market, n, self._inventory, self._cash, self._mid, self._profit, *depths,
            *self.params.fill_probabilities(depths).tolist(), self._bid_draws[n], self._ask_draws[n], self._shocks[n])
        if self._variant.cara:
            dynamics.check_utility(self.params, reward, profit)
        self._inventory, self._cash, self._mid, self._profit = inventory, cash, mid, profit
        self._elapsed = n + 1
        info = self._info()
        info["bid_filled"], info["ask_filled"] = (1.0 if bid_filled else 0.0), (1.0 if ask_filled else 0.0)
        return self._observation(), reward, terminated, False, info

    def _finished(self) -> bool:
        return self._elapsed >= self.params.steps

    def _depths(self, action) -> tuple[float, float]:
        """(δ_b, δ_a) of one action, as :func:`depths_of` maps a batch of them (same errors)."""
        params = self.params
        action = _action_array(params, action, self.action_space)
        if action.size != 2 or action.ndim > 2 or (action.ndim == 2 and action.shape != (1, 2)):
            raise ValueError(f"action must have shape (2,) ([bid, ask]), got {action.shape}")
        if params.discrete:
            bid, ask = action.ravel().tolist()
            if not (0 <= bid <= params.ticks and 0 <= ask <= params.ticks):
                raise ValueError(f"action must be tick counts in 0..{params.ticks} (max_depth / tick_size), got "
                                 f"{min(bid, ask)}..{max(bid, ask)}")
            return bid * params.tick_size, ask * params.tick_size
        bid, ask = action.ravel().tolist()
        if bid != bid or ask != ask:
            raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
        return dynamics.quote_depth(params.max_depth, bid), dynamics.quote_depth(params.max_depth, ask)

    def _info(self) -> dict[str, float]:
        q = self._inventory
        return {"inventory": float(q), "cash": self._cash, "mid_price": self._mid, "wealth": self._cash + q * self._mid,
                "profit": self._profit}

    def _observation(self) -> np.ndarray:
        return np.array(dynamics.observation(self._market, self._elapsed, self._inventory), dtype=np.float32)


class MarketMakingVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (infos as in SyncVectorEnv). Slot i reset with seed s plays the episodes of a scalar env reset with
    seed s + i."""

    problem = PROBLEM
