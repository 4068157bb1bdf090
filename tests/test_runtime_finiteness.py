"""The envs check at reset and at every step that observations and rewards are finite, and otherwise raise a
RuntimeError naming the env, the slot, what was not finite and the parameters."""

import math

import numpy as np
import pytest

from execgym.problems.market_making import dynamics
from execgym.problems.market_making.env import MarketMakingVectorEnv
from execgym.problems.market_making.params import RISK_STANDARD_DEVIATIONS, UTILITY_EXPONENT, MarketMakingParams
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.params import OptimalExecParams


def beyond_range(**fields) -> OptimalExecParams:
    """Valid default params with ``fields`` then forced past validation (as no constructor allows)."""
    params = OptimalExecParams()
    for name, value in fields.items():
        object.__setattr__(params, name, value)
    return params


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")   # into the scalar env's float32 observation
@pytest.mark.parametrize("env_class", [OptimalExecEnv, lambda params: OptimalExecVectorEnv(3, params)])
def test_a_non_finite_observation_raises_naming_the_env_and_entry(env_class):
    env = env_class(beyond_range(volatility=1e-300))     # the observed price move divided by σ√T overflows
    env.reset(seed=0)
    vector = not isinstance(env, OptimalExecEnv)
    name = "OptimalExecVectorEnv" if vector else "OptimalExecEnv"
    slot = r" in slot 0" if vector else ""
    with pytest.raises(RuntimeError, match=rf"{name}\.step produced a non-finite observation entries \[2\] of "
                                           rf"\[.*\]{slot}, beyond float64's range, with the parameters "
                                           r"OptimalExecParams\(shares=1000000\.0, .*volatility=1e-300"):
        env.step(np.zeros((3, 1) if vector else 1, dtype=np.float32))


def test_a_non_finite_reward_raises_naming_the_reward():
    env = OptimalExecEnv(beyond_range(temporary_impact=1e300))    # the impact cost of the first trade overflows
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match=r"OptimalExecEnv\.step produced a non-finite reward -inf, beyond "):
        env.step(np.ones(1, dtype=np.float32))


def test_an_utility_beyond_float64_raises_at_the_episode_end():
    """Under "cara", γ·L <= 700 bounds the loss L of holding Q̄ through a three-standard-deviation move; a
    rarer price path can take the utility (1 − e^{−γΠ})/γ beyond float64. One step, one share held, quotes too
    deep to fill: the utility overflows exactly when the shock ξ < −709.78/(γσ√T)."""
    sigma = 1.0
    gamma = UTILITY_EXPONENT / (RISK_STANDARD_DEVIATIONS * sigma)
    params = MarketMakingParams(steps=1, max_inventory=1, initial_inventory=1, volatility=sigma, horizon=1.0,
                                arrival_rate=1e-9, max_depth=2.0, depth_decay=1e5, inventory_penalty=0.0,
                                terminal_penalty=0.0, objective="cara", risk_aversion=gamma)
    slots = 2000
    shocks = dynamics.price_shocks(params, dynamics.start(params, np.arange(slots), np.zeros(slots)).key, 0)
    overflowing = np.flatnonzero(shocks < -math.log(np.finfo(float).max) / (gamma * sigma))
    assert 0 < overflowing.size < 10          # ξ < −3.04: about 1 slot in 1000
    env = MarketMakingVectorEnv(slots, params)
    env.reset(seed=0)                         # slot i plays seed i
    with pytest.raises(RuntimeError, match=rf"MarketMakingVectorEnv\.step produced a non-finite reward -inf in "
                                           rf"slot {overflowing[0]}, beyond float64's range.*objective='cara'"):
        env.step(np.ones((slots, 2), dtype=np.float32))
