"""A toy problem written outside the package, as a user would add one: its params, market, state, step, envs,
oracle and spec in one module, registered with :func:`execgym.register_problem` (no shared file edited).

Sell X shares in N periods; trading n shares costs η·n² (currency) and the position x' held after the trade
moves with the price shock σ·ξ. Reward −(η·n² − σ·ξ·x'), currency; the last period sells what is left. The
action a ∈ [−1, 1] sells the fraction (a + 1)/2 of the remaining shares. E[Σ reward] = −η·Σ n_k², least for
equal trades n_k = X/N (TWAP): the oracle sells 1/(N − k) of what is left, value −η·X²/N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import gymnasium as gym
import numpy as np
from numba.extending import register_jitable

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.engine import Dynamics
from execgym.noise import standard_normals
from execgym.policy import Oracle, OracleCost
from execgym.problems import Problem
from execgym.rendering import Line, Panel, Readout, Sketch
from execgym.validation import REAL_KINDS, action_array, params_from_kwargs, require_int, require_real


@dataclass(frozen=True)
class ToyParams:
    shares: float = 1000.0
    periods: int = 4
    impact: float = 0.01
    volatility: float = 1.0

    def __post_init__(self) -> None:
        require_real("shares", self.shares, low=0.0, high=1e9, low_open=True)
        require_int("periods", self.periods, low=1, high=1000)
        require_real("impact", self.impact, low=0.0, high=1e3)
        require_real("volatility", self.volatility, low=0.0, high=1e3)

    @classmethod
    def from_kwargs(cls, params=None, **kwargs) -> "ToyParams":
        return params_from_kwargs(cls, params, kwargs, "Toy")


class Market(NamedTuple):
    periods: int
    shares: float
    impact: float
    volatility: float


class State(NamedTuple):
    elapsed: int
    inventory: float


class Report(NamedTuple):
    traded: float


def market(params: ToyParams) -> Market:
    return Market(params.periods, params.shares, params.impact, params.volatility)


@register_jitable(inline="always")
def initial_state(variant, market: Market, key) -> State:
    return State(0, market.shares)


@register_jitable(inline="always")
def advance(variant, market: Market, state: State, fraction: float, shock: float):
    last = state.elapsed == market.periods - 1
    traded = state.inventory if last else fraction * state.inventory
    left = state.inventory - traded
    reward = -(market.impact * traded * traded - market.volatility * shock * left)
    return State(state.elapsed + 1, left), reward, Report(traded)


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    return state.elapsed >= market.periods


@register_jitable(inline="always")
def write_observation(variant, market: Market, state: State, out, row: int) -> None:
    out[row, 0] = (market.periods - state.elapsed) / market.periods
    out[row, 1] = state.inventory / market.shares


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=lambda params: (), market=market, scalar_market=market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=lambda variant, keys, elapsed: standard_normals(keys, elapsed),
    episode_noise=lambda variant, market, key: standard_normals(np.full(market.periods, key, dtype=np.uint64),
                                                               np.arange(market.periods)).tolist(),
    observation_size=lambda params: 2)


def fractions(actions, n):
    actions = action_array(actions, "Box(-1, 1, (1,))", REAL_KINDS).astype(np.float64)
    if np.isnan(actions).any():
        raise ValueError("action contains NaN")
    clipped = (np.clip(actions, -1.0, 1.0) + 1.0) / 2.0
    return float(clipped.reshape(())) if n is None else clipped.reshape(n)


PROBLEM = BatchedProblem(
    params_class=ToyParams, dynamics=DYNAMICS,
    observation_space=lambda params: gym.spaces.Box(0.0, 1.0, (2,), np.float32),
    action_space=lambda params: gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
    controls=lambda params, actions, n: fractions(actions, n),
    reset_info=lambda state: {"inventory": state.inventory},
    step_info=lambda state, report: {"inventory": state.inventory, "traded": report.traded},
    sketch=Sketch(title="Toy", xlabel="period", horizon=lambda params: params.periods,
                  panels=(Panel("holdings", lambda scene: [Line("agent", scene.trace.series("inventory"))]),),
                  readouts=(Readout("inventory", "inventory", "{:.0f}"),), reward_units="currency",
                  reference=lambda params, oracle: None))


class ToyEnv(EpisodeEnv):
    problem = PROBLEM


class ToyVectorEnv(BatchedVectorEnv):
    problem = PROBLEM


def make_oracle(params: ToyParams) -> Oracle:
    def policy(observations: np.ndarray) -> np.ndarray:
        left = np.rint(params.periods * observations[:, 0])      # periods left, N − k
        return (2.0 / np.maximum(left, 1.0) - 1.0)[:, None].astype(np.float32)
    return Oracle(policy=policy, expected_return=-params.impact * params.shares**2 / params.periods,
                  schedule=np.linspace(params.shares, 0.0, params.periods + 1))


def baselines(params: ToyParams) -> dict:
    return {"all_at_once": lambda observations: np.ones((len(observations), 1), dtype=np.float32)}


SPEC = Problem(env_id="Toy-v0", description="Toy liquidation with quadratic cost; oracle: TWAP",
               params_class=ToyParams, env_class=ToyEnv, vector_env_class=ToyVectorEnv,
               oracle_factory=make_oracle, reward_units="currency", baselines=baselines,
               oracle_cost=lambda params: OracleCost(size=params.periods, unit="periods", seconds=1e-6))
