"""A problem added from a test folder (params, market, state, step, oracle in :mod:`.toy`) registers and runs
everywhere, a market per slot included, without a shared file of the package edited."""

import gymnasium as gym
import numpy as np
import pytest
from vector_checks import assert_equals_sync_vector_env, assert_market_per_slot_plays_scalar_envs

import execgym
from execgym.registry import PROBLEMS

from .toy import SPEC


@pytest.fixture(scope="module")
def toy():
    execgym.register_problem(SPEC)
    yield SPEC
    PROBLEMS.pop(SPEC.env_id, None)
    gym.envs.registry.pop(SPEC.env_id, None)


def test_the_toy_registers_and_its_envs_run(toy):
    env = gym.make("Toy-v0", periods=3)
    observation, info = env.reset(seed=1)
    assert observation.tolist() == [1.0, 1.0] and info == {"inventory": 1000.0}
    *_, info = env.step(np.array([0.0], dtype=np.float32))
    assert info["traded"] == 500.0
    native = gym.make_vec("Toy-v0", num_envs=4)
    assert_equals_sync_vector_env(native, lambda: gym.make("Toy-v0"), 10,
                                  lambda info: np.linspace(-1, 1, 4, dtype=np.float32)[:, None])


def test_a_market_per_slot_of_the_toy(toy):
    assert_market_per_slot_plays_scalar_envs("Toy-v0", [{}, {"periods": 7}, {"impact": 0.5, "shares": 10.0}], 20)


def test_the_toys_oracle_scores_zero_regret_and_beats_its_baseline(toy):
    oracle = execgym.score("oracle", "Toy-v0", episodes=2000)
    assert oracle.regret.mean == pytest.approx(0.0, abs=1e-9)
    baseline = execgym.score("all_at_once", "Toy-v0", episodes=2000)
    assert abs(baseline.regret_pct.mean - 300.0) < baseline.regret_pct.half_width   # −η·X² against −η·X²/4
    over_markets = execgym.score("oracle", "Toy-v0", markets=[{}, {"periods": 2}], episodes=500)
    assert [result.regret.mean for result in over_markets.results] == pytest.approx([0.0, 0.0], abs=1e-9)
