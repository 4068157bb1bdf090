"""Rewards in regret units: each step's reward divided by its market's regret scale, the market being the one the
step's episode plays (across autoresets), so an episode's return is −cost/optimal cost."""

import gymnasium as gym
import numpy as np
import pytest

import execgym
from execgym.experiments.config import ConfigError, parse_config
from execgym.experiments.trainers import sb3_env
from execgym.registry import problem
from execgym.sb3 import NativeVecEnv, RewardInRegretUnits


def test_each_reward_is_scaled_by_the_optimum_of_the_market_its_episode_plays():
    raw = NativeVecEnv(gym.make_vec("OptimalExec-v0", num_envs=6, markets="test", periods=4))
    scaled = RewardInRegretUnits(NativeVecEnv(gym.make_vec("OptimalExec-v0", num_envs=6, markets="test",
                                                           periods=4)), "OptimalExec-v0")
    raw.seed(11)
    scaled.seed(11)
    first, second = raw.reset(), scaled.reset()
    np.testing.assert_array_equal(first, second)
    test_set = execgym.market_set("OptimalExec-v0", "test", periods=4)
    rng = np.random.default_rng(0)
    markets_met = set()
    for _ in range(13):                                        # several autoresets: the markets change
        playing = raw.env.market_indices.copy()
        markets_met.update(playing.tolist())
        actions = rng.uniform(0.0, 1.0, size=(6, 1)).astype(np.float32)
        _, raw_rewards, raw_dones, _ = raw.step(actions)
        _, rewards, dones, _ = scaled.step(actions)
        np.testing.assert_array_equal(dones, raw_dones)
        optima = np.array([execgym.make_oracle("OptimalExec-v0", params=test_set[int(m)]).expected_return
                           for m in playing])
        np.testing.assert_allclose(rewards, raw_rewards / np.abs(optima), rtol=1e-6)
    assert len(markets_met) > 6
    met = np.flatnonzero(~np.isnan(scaled.scales))
    assert set(met.tolist()) == markets_met            # scales are computed for the markets met, and only those


def test_an_optimal_episode_returns_minus_1_in_expectation():
    """In OptimalExec's random-walk markets the optimum is a fixed schedule, so the oracle's scaled return
    averages −1 up to the price noise, whose mean is zero."""
    venv = RewardInRegretUnits(NativeVecEnv(gym.make_vec("OptimalExec-v0", num_envs=256, markets="test",
                                                         periods=4)), "OptimalExec-v0")
    test_set = execgym.market_set("OptimalExec-v0", "test", periods=4)
    oracles = execgym.make_oracles("OptimalExec-v0", list(test_set))
    base = problem("OptimalExec-v0").vector_env_class.problem.dynamics.observation_size(test_set[0])
    venv.seed(3)
    observations = venv.reset()
    returns, totals = [], np.zeros(256)
    while len(returns) < 2000:
        indices = venv.native.market_indices
        actions = np.concatenate([oracles[m].policy(observations[i:i + 1, :base]) for i, m in enumerate(indices)])
        observations, rewards, dones, _ = venv.step(actions)
        totals += rewards
        returns.extend(totals[dones].tolist())
        totals[dones] = 0.0
    returns = np.array(returns)
    assert abs(returns.mean() + 1.0) < 4 * returns.std() / np.sqrt(returns.size)


def test_it_needs_markets_and_an_sb3_agent():
    with pytest.raises(ValueError, match="need a vector env drawing markets"):
        RewardInRegretUnits(NativeVecEnv(gym.make_vec("OptimalExec-v0", num_envs=2)), "OptimalExec-v0")
    data = {"env": {"id": "OptimalExec-v0"}, "agent": {"algo": "ppo", "reward_in_regret_units": True},
            "training": {"total_steps": 100, "eval_every": 50}}
    with pytest.raises(ConfigError, match="agent.reward_in_regret_units applies to .* with env.markets"):
        parse_config(data)
    config = parse_config({**data, "env": {"id": "OptimalExec-v0", "markets": "train"}})
    assert isinstance(sb3_env(config).venv, RewardInRegretUnits)
