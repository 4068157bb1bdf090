"""A vector env with a different market in every slot plays, slot by slot, exactly the episodes of scalar envs
built with those markets (bit for bit, across autoresets), and runs its markets as given at construction or
at reset."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from vector_checks import assert_market_per_slot_plays_scalar_envs, assert_markets_set_at_reset

from execgym.registry import problem

MARKETS = {
    "OptimalExec-v0": [{}, {"volatility": 0.02, "periods": 20}, {"shares": 3e5, "half_spread": 0.02},
                       {"risk_aversion": 1e-5, "side": "buy", "periods": 5}],
    "OptimalExecCapped-v0": [{}, {"volatility": 0.03}, {"shares": 5e5}],
    "OptimalExecNonlinear-v0": [{}, {"impact_exponent": 0.6}, {"temporary_impact": 5e-6}],
}


ENV_IDS = [env_id if env_id == "OptimalExec-v0" else pytest.param(env_id, marks=pytest.mark.slow)
           for env_id in sorted(MARKETS)]
"""The registered variants run in the slow tests (their dynamics are OptimalExec-v0's, with set keywords)."""


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_market_per_slot_plays_the_scalar_envs_of_those_markets(env_id):
    assert_market_per_slot_plays_scalar_envs(env_id, MARKETS[env_id], steps=60)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_markets_set_at_reset_for_chosen_slots(env_id):
    assert_markets_set_at_reset(env_id, MARKETS[env_id], steps=25)


def test_the_scalar_env_takes_a_market_at_reset():
    market = problem("OptimalExec-v0").params(volatility=0.03, periods=7)
    env = gym.make("OptimalExec-v0")
    env.reset(seed=4, options={"market": market})
    assert env.unwrapped.params == market
    rewards = [env.step(np.array([0.2], dtype=np.float32))[1] for _ in range(7)]
    fresh = gym.make("OptimalExec-v0", params=market)
    fresh.reset(seed=4)
    assert rewards == [fresh.step(np.array([0.2], dtype=np.float32))[1] for _ in range(7)]


def test_shared_market_slots_keep_one_record():
    env = gym.make_vec("OptimalExec-v0", num_envs=3).unwrapped
    assert not isinstance(env._markets.compiled[0], np.ndarray)


def test_a_vector_env_with_a_market_per_slot_pickles_mid_episode():
    env = gym.make_vec("OptimalExec-v0", num_envs=4, markets=MARKETS["OptimalExec-v0"]).unwrapped
    env.reset(seed=3)
    actions = np.full((4, 1), 0.3, dtype=np.float32)
    env.step(actions)
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(6):
        observation, reward = env.step(actions)[:2]
        clone_observation, clone_reward = clone.step(actions)[:2]
        np.testing.assert_array_equal(clone_observation, observation)
        np.testing.assert_array_equal(clone_reward, reward)


@pytest.mark.parametrize("markets, message", [
    ([{}], r"one entry per slot \(2\)"),
    ("tomorrow", r"unknown split 'tomorrow': the splits are \['train', 'test', 'ood'\]"),
    (7, r"must be a list of 2 markets"),
    ({5: {}}, r"slot 5 is not a slot index in \[0, 1\]"),
    ([{}, {"volatility": -1.0}], r"markets\[1\]: volatility must be"),
    ([{}, {"smoothness": 1e-7}], r"markets\[1\] has the observation space"),
    ([{}, {"impact_exponent": 0.7}], r"markets\[1\] has the model variant"),
    ([{}, 3], r"markets\[1\] must be a OptimalExecParams or a dict"),
])
def test_bad_markets_name_the_slot_and_what_is_wrong(markets, message):
    with pytest.raises(ValueError, match=message):
        gym.make_vec("OptimalExec-v0", num_envs=2, markets=markets)


def test_markets_and_params_together_are_refused_and_keywords_apply_to_dict_markets():
    with pytest.raises(ValueError, match="either markets= or params="):
        gym.make_vec("OptimalExec-v0", num_envs=2, markets=[{}, {}], params=problem("OptimalExec-v0").params())
    env = gym.make_vec("OptimalExec-v0", num_envs=2, markets=[{}, {"periods": 5}], volatility=0.02).unwrapped
    assert [(m.volatility, m.periods) for m in env.markets] == [(0.02, 13), (0.02, 5)]


def test_unknown_reset_options_are_refused():
    env = gym.make_vec("OptimalExec-v0", num_envs=2)
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['market'\]"):
        env.reset(options={"market": {}})
    scalar = gym.make("OptimalExec-v0")
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['markets'\]"):
        scalar.reset(options={"markets": [{}]})
