"""LimitOrMarket-v0 as a table: the view's MDP is the oracle's, its state map round-trips the env's observations,
its policies act in the real env, and Q-learning through `execgym run` learns the optimum."""

import json

import numpy as np
import pytest

import execgym
from execgym import engine
from execgym.problems.limit_or_market import dynamics
from execgym.problems.limit_or_market.env import LimitOrMarketVectorEnv
from execgym.problems.limit_or_market.grid import LimitOrMarketGrid
from execgym.problems.limit_or_market.params import LimitOrMarketParams
from execgym.solvers.dp import backward_induction
from execgym.tabular import TablePolicy, tabular_view
from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment

SMALL = LimitOrMarketParams(lots=4, deadline=4, max_depth=2, book_lots=2)


def test_state_index_round_trips_every_observation():
    grid = LimitOrMarketGrid(SMALL)
    elapsed, lots = np.meshgrid(np.arange(SMALL.deadline + 1), np.arange(SMALL.lots + 1), indexing="ij")
    zeros = np.zeros(elapsed.size, np.uint64)
    state = dynamics.State(elapsed=elapsed.ravel(), lots_left=lots.ravel(), mid=np.zeros(elapsed.size, np.int64),
                           improvement=np.zeros(elapsed.size))
    batch = engine.Batch(seed=zeros, episode=zeros, key=zeros, state=state)
    states = grid.state_index(engine.observe(dynamics.DYNAMICS, SMALL, batch))
    np.testing.assert_array_equal(states, np.arange(grid.num_states))
    assert grid.num_states == 25 and grid.num_actions == 5


def test_the_views_dp_policy_acts_like_the_oracle_in_the_real_env():
    grid = tabular_view("LimitOrMarket-v0", SMALL)
    solution = backward_induction(grid.mdp())
    oracle = grid.oracle()
    assert solution.values[0, SMALL.lots] == oracle.expected_return
    table = np.zeros(grid.num_states, dtype=np.int64)
    table[:solution.policy.size] = solution.policy.ravel()
    result = execgym.score(grid.env_policy(TablePolicy(table)), "LimitOrMarket-v0", params=SMALL, episodes=500)
    assert result.regret.mean == 0.0 and result.regret.std == 0.0      # same actions on every step: same episode


def test_the_discrete_vector_env_sees_the_real_envs_rewards():
    grid = LimitOrMarketGrid(SMALL)
    venv, real = grid.vector_env(4), LimitOrMarketVectorEnv(num_envs=4, params=SMALL)
    states, _ = venv.reset(seed=2)
    real.reset(seed=2)
    assert states.tolist() == [SMALL.lots] * 4
    rng = np.random.default_rng(0)
    for _ in range(12):
        actions = rng.integers(0, grid.num_actions, 4)
        states, rewards, terminated, _, _ = venv.step(actions)
        obs, real_rewards, real_terminated, _, _ = real.step(actions)
        np.testing.assert_array_equal(rewards, real_rewards)
        np.testing.assert_array_equal(terminated, real_terminated)
        np.testing.assert_array_equal(states, grid.state_index(obs))


def test_invalid_views_raise():
    with pytest.raises(ValueError, match="LimitOrMarketParams"):
        LimitOrMarketGrid(execgym.PROBLEMS["OptimalExec-v0"].params())
    with pytest.raises(ValueError, match=r"0..4"):
        LimitOrMarketGrid(SMALL).env_actions(np.zeros(1, np.int64), np.array([5]))


@pytest.mark.slow
def test_qlearning_run_learns_the_optimum(tmp_path):
    """A small order where the best fixed depth loses 19 % of the optimum and a market order 680 %."""
    params = {"lots": 4, "deadline": 4, "max_depth": 2, "book_lots": 2, "move_probability": 0.1}
    config = parse_config({"env": {"id": "LimitOrMarket-v0", "params": params},
                           "agent": {"algo": "qlearning", "num_envs": 512,
                                     "hyperparameters": {"step_size_exponent": 0.6}},
                           "training": {"total_steps": 1_000_000, "eval_every": 500_000, "eval_episodes": 10_000},
                           "seeds": [0], "output": str(tmp_path / "q")})
    run_experiment(config)
    final = json.loads((config.output / "seed_0" / "result.json").read_text())["final"]
    oracle = execgym.make_oracle("LimitOrMarket-v0", **params).expected_return
    assert final["oracle_return"] == final["discretised_optimum"]["oracle_return"] == pytest.approx(oracle)
    assert final["regret_pct"] < 5.0
