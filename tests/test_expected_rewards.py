"""Expected rewards: each step's reward given the state and the action, with the price shock's term removed. Its
episode sums have the env's expected return for any policy that does not see the future, with less variance."""

import gymnasium as gym
import numpy as np
import pytest

import execgym
from execgym.experiments.config import ConfigError, parse_config
from execgym.wrappers import ExpectedRewards, ExpectedVectorRewards


def price_chaser(observations):
    """Sells more after the price rose: a policy that reacts to the noise (an unbiased estimate must hold for it)."""
    return np.clip(-0.6 + 3.0 * observations[:, 2:3], -1.0, 1.0).astype(np.float32)


@pytest.mark.parametrize("env_id, params", [("OptimalExec-v0", {"drift": 0.4}),
                                            ("OptimalExecMeanReverting-v0", {})])
def test_the_reward_minus_the_expected_reward_is_the_shock_term(env_id, params):
    env = gym.make(env_id, **params)
    p = env.unwrapped.params
    env.reset(seed=5)
    price = p.arrival_price
    for _ in range(p.periods):
        _, reward, terminated, _, info = env.step(np.array([-0.3], dtype=np.float32))
        expected_move = ((p.reversion_factor - 1.0) * (price - p.long_run_price) + p.drift * p.tau
                         - p.side_sign * p.permanent_impact * info["shares_traded"])
        shock_term = p.side_sign * (info["price"] - price - expected_move) * info["inventory"] * p.bps_per_currency
        assert reward - info["expected_reward"] == pytest.approx(shock_term, rel=1e-9, abs=1e-9)
        price = info["price"]
    assert terminated


def test_expected_returns_are_unbiased_for_a_policy_that_reacts_to_prices_and_less_noisy():
    venv = gym.make_vec("OptimalExec-v0", num_envs=1000, markets="test")
    expected = ExpectedVectorRewards(gym.make_vec("OptimalExec-v0", num_envs=1000, markets="test"))
    plain, smooth = [], []
    for env, out in ((venv, plain), (expected, smooth)):
        observations, _ = env.reset(seed=11)
        totals, done = np.zeros(1000), np.zeros(1000, dtype=bool)
        while not done.all():
            observations, reward, terminated, truncated, _ = env.step(price_chaser(observations))
            totals += np.where(done, 0.0, reward)
            done |= terminated | truncated
        out.extend(totals)
    plain, smooth = np.array(plain), np.array(smooth)
    difference = plain - smooth               # the same episodes: the shock terms' sums, mean zero
    assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(difference.size)
    assert smooth.std() < 0.5 * plain.std()


def test_vector_slots_equal_the_scalar_env_across_autoresets():
    vector = ExpectedVectorRewards(gym.make_vec("OptimalExec-v0", num_envs=3, markets="train", periods=4))
    observations, _ = vector.reset(seed=20)
    rewards = []
    for _ in range(10):
        observations, reward, *_ = vector.step(price_chaser(observations))
        rewards.append(reward)
    rewards = np.array(rewards)
    for slot in range(3):
        scalar = ExpectedRewards(gym.make("OptimalExec-v0", markets="train", periods=4))
        observation, _ = scalar.reset(seed=20 + slot)
        scalar_rewards = []
        while len(scalar_rewards) < 10:
            observation, reward, terminated, _, _ = scalar.step(price_chaser(observation[None])[0])
            scalar_rewards.append(reward)
            if terminated:
                observation, _ = scalar.reset()
        np.testing.assert_array_equal(rewards[:, slot], scalar_rewards)


def test_problems_without_expected_rewards_are_refused():
    with pytest.raises(ValueError, match="does not report the expected reward"):
        ExpectedRewards(gym.make("MarketMaking-v0"))
    data = {"env": {"id": "MarketMaking-v0"}, "agent": {"algo": "ppo", "expected_rewards": True},
            "training": {"total_steps": 100, "eval_every": 50}}
    with pytest.raises(ConfigError, match="MarketMaking-v0 does not report the expected reward"):
        parse_config(data)
    with pytest.raises(ConfigError, match="expected_rewards applies to"):
        parse_config({**data, "env": {"id": "OptimalExec-v0"}, "agent": {"algo": "qlearning", "expected_rewards": True}})
    assert execgym.make_oracle("OptimalExec-v0").expected_return < 0


def test_portfolio_rewards_minus_expected_rewards_are_the_shocks_term():
    env = gym.make("PortfolioExec-v0")
    p = env.unwrapped.params
    _, info = env.reset(seed=9)
    prices = np.asarray(info["prices"], dtype=float)
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.full(env.action_space.shape, 0.2, dtype=np.float32))
        expected_move = -p.gamma @ info["shares_traded"]
        shock_moves = info["prices"] - prices - expected_move
        shock_term = float(shock_moves @ info["holdings"]) * p.bps_per_currency
        assert reward - info["expected_reward"] == pytest.approx(shock_term, rel=1e-9, abs=1e-9)
        prices = np.asarray(info["prices"], dtype=float)


def test_a_baskets_expected_reward_is_minus_the_trades_expected_cost():
    env = gym.make("BasketSequence-v0")
    _, info = env.reset(seed=2)
    noise = []
    for _ in range(env.unwrapped.params.trades):
        action = int(np.flatnonzero(info["action_mask"])[-1])
        _, reward, terminated, _, info = env.step(action)
        assert info["expected_reward"] == -info["trade_cost"]
        noise.append(reward - info["expected_reward"])
    assert terminated and np.std(noise) > 0


def test_envs_that_do_not_report_expected_rewards_get_a_clear_error():
    sync = gym.make_vec("OptimalExec-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="does not report the expected reward"):
        ExpectedVectorRewards(sync)
    with pytest.raises(ValueError, match="does not report the expected reward"):
        ExpectedRewards(gym.make("CartPole-v1"))
