"""MarketMaking-v0 on a tick grid as a table: backward induction on the view's MDP against the env's oracle
(an independent check of grid_quotes), rewards by hand, the state and action maps, refusals, the discrete envs and
Q-learning through `execgym run`."""

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import execgym
from execgym import engine
from execgym.problems.market_making import dynamics
from execgym.problems.market_making.env import MarketMakingEnv, MarketMakingVectorEnv, depth_actions
from execgym.problems.market_making.grid import QuoteGrid
from execgym.problems.market_making.oracle import policy_value
from execgym.problems.market_making.params import MarketMakingParams
from execgym.solvers.dp import backward_induction, policy_values
from execgym.tabular import DiscreteEnv, DiscreteVectorEnv, TablePolicy, TabularVectorEnv, tabular_view
from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment

SMALL = MarketMakingParams(steps=12, max_inventory=3, tick_size=0.5, max_depth=2.0)
MARKETS = {
    "small": SMALL,
    # drift, linear fills, a start off zero, binomial shocks, a fine grid
    "drift": MarketMakingParams(steps=30, max_inventory=5, arrival_rate=20.0, fill_probability="linear", drift=4.0,
                                initial_inventory=-2, price_shocks="binomial", tick_size=0.25, max_depth=3.0),
    # the Q-learning config's market
    "config": MarketMakingParams(steps=50, max_inventory=10, tick_size=0.5, max_depth=3.0),
}


def dp_tables(grid: QuoteGrid):
    """(values (N, L), bid depths (N, L), ask depths (N, L)) of backward induction on the view's MDP."""
    solution = backward_induction(grid.mdp())
    ticks = grid.ticks(solution.policy.ravel()).reshape(solution.policy.shape + (2,)) * grid.params.tick_size
    return solution.values[:-1], ticks[..., 0], ticks[..., 1]


@pytest.mark.parametrize("name", list(MARKETS))
def test_backward_induction_on_the_mdp_equals_the_env_oracle_values_and_quotes(name):
    params = MARKETS[name]
    grid = QuoteGrid(params)
    values, bid, ask = dp_tables(grid)
    oracle = grid.oracle()
    tables = execgym.make_oracle("MarketMaking-v0", params=params).tables
    np.testing.assert_allclose(values, tables.values[:-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(bid[:, :-1], tables.bid[:, :-1])  # the sides quoted (no bid at Q̄, no ask at −Q̄)
    np.testing.assert_array_equal(ask[:, 1:], tables.ask[:, 1:])
    assert (tables.bid[:, -1] == params.max_depth).all() and (tables.ask[:, 0] == params.max_depth).all()
    assert oracle.expected_return == pytest.approx(values[0, params.initial_inventory + params.max_inventory],
                                                   rel=1e-12)
    assert len(np.unique(bid)) > 2 and (bid[0, 1:-1] >= bid[0, :-2]).all()  # the bid widens with the inventory


@pytest.mark.parametrize("name", ["small", "drift"])
def test_any_quote_table_is_worth_the_same_in_the_mdp_and_in_the_oracles_policy_value(name):
    params = MARKETS[name]
    grid = QuoteGrid(params)
    mdp = grid.mdp()
    rng = np.random.default_rng(0)
    for _ in range(5):
        policy = rng.integers(0, grid.num_actions, (params.steps, params.levels))
        depths = grid.ticks(policy.ravel()).reshape(policy.shape + (2,)) * params.tick_size
        start = params.initial_inventory + params.max_inventory
        assert policy_values(mdp, policy)[0, start] == pytest.approx(
            policy_value(params, depths[..., 0], depths[..., 1]), rel=1e-12, abs=1e-12)


def test_one_step_rewards_and_successors_by_hand():
    params = MarketMakingParams(steps=4, max_inventory=2, tick_size=0.5, max_depth=1.0, drift=1.5,
                                inventory_penalty=0.3, terminal_penalty=0.7)
    grid = QuoteGrid(params)
    assert (grid.num_states, grid.num_actions, grid.levels) == (5 * 5, 9, 5)
    mdp = grid.mdp()
    dt = params.dt
    p = 1 - np.exp(-params.arrival_rate * np.exp(-params.depth_decay * np.array([0.0, 0.5, 1.0])) * dt)
    # q = 1, bid 1 tick (0.5), ask 2 ticks (1.0): action 1·3 + 2.
    pb, pa = p[1], p[2]
    chances = [(1 - pb) * (1 - pa), pb * (1 - pa), (1 - pb) * pa, pb * pa]
    after = np.array([1, 2, 0, 1])
    running = 1.5 * dt * after - 0.3 * dt * after**2
    expected = pb * 0.5 + pa * 1.0 + np.dot(chances, running)
    assert mdp.rewards[0, 3, 5] == pytest.approx(expected, rel=1e-13)
    assert mdp.rewards[-1, 3, 5] == pytest.approx(expected - 0.7 * np.dot(chances, after**2), rel=1e-13)
    np.testing.assert_array_equal(mdp.next_states[0, 3, 5], after + 2)
    np.testing.assert_allclose(mdp.probabilities[0, 3, 5], chances, rtol=1e-15)
    # At q = Q̄ the bid is not quoted, at q = −Q̄ the ask: those fills have probability 0 and stay in range.
    assert mdp.probabilities[0, 4, :, [1, 3]].max() == 0.0 and mdp.probabilities[0, 0, :, [2, 3]].max() == 0.0
    assert mdp.next_states.min() == 0 and mdp.next_states.max() == 4
    top = mdp.rewards[0, 4].reshape(3, 3)
    np.testing.assert_array_equal(top, top[:1].repeat(3, axis=0))      # the bid depth does not matter at Q̄
    assert (mdp.terminal_values == 0).all()


def test_state_index_round_trips_observations_of_every_step_and_inventory():
    grid = QuoteGrid(SMALL)
    levels = SMALL.levels
    elapsed, inventory = np.meshgrid(np.arange(SMALL.steps + 1), SMALL.inventories, indexing="ij")
    batch = engine.start(dynamics.DYNAMICS, SMALL, np.zeros(elapsed.size), np.zeros(elapsed.size))
    batch = replace(batch, state=batch.state._replace(elapsed=elapsed.ravel(), inventory=inventory.ravel()))
    states = grid.state_index(engine.observe(dynamics.DYNAMICS, SMALL, batch))
    np.testing.assert_array_equal(states, np.arange(grid.num_states))  # n·(2Q̄+1) + q + Q̄, row by row
    n, q = grid.steps_and_inventories(states)
    np.testing.assert_array_equal(n, elapsed.ravel())
    np.testing.assert_array_equal(q, inventory.ravel())
    assert grid.state_index(np.array([[1.0, 0.0], [0.0, -1.0]], dtype=np.float32)).tolist() == [3, 12 * levels]


def test_env_actions_round_trip_tick_pairs_and_depths():
    grid = QuoteGrid(SMALL)
    actions = np.arange(grid.num_actions)
    ticks = grid.env_actions(np.zeros_like(actions), actions)
    assert ticks.dtype == np.int64 and ticks.shape == (25, 2)
    np.testing.assert_array_equal(ticks, np.stack(np.meshgrid(np.arange(5), np.arange(5), indexing="ij"), -1)
                                  .reshape(25, 2))
    np.testing.assert_array_equal(ticks[:, 0] * 5 + ticks[:, 1], actions)
    np.testing.assert_array_equal(depth_actions(SMALL, ticks * SMALL.tick_size), ticks)
    assert MarketMakingEnv(params=SMALL).action_space.contains(ticks[7])


def test_the_dp_policy_through_the_view_acts_like_the_oracle_in_the_real_env():
    grid = QuoteGrid(SMALL)
    policy = backward_induction(grid.mdp()).policy
    table = np.zeros(grid.num_states, dtype=np.int64)
    table[:policy.size] = policy.ravel()
    result = execgym.score(grid.env_policy(TablePolicy(table)), "MarketMaking-v0", params=SMALL, episodes=500,
                           seed=0)
    assert result.oracle_return == grid.oracle().expected_return
    assert result.regret.mean == pytest.approx(0.0, abs=1e-9)          # same quotes on every step: same noise


def test_discrete_vector_env_matches_discrete_scalar_envs_across_autoresets():
    grid, n = QuoteGrid(SMALL), 3
    venv = grid.vector_env(n)
    assert isinstance(venv, DiscreteVectorEnv) and venv.single_observation_space.n == 13 * 7
    envs = [DiscreteEnv(MarketMakingEnv(params=SMALL), grid) for _ in range(n)]
    obs, _ = venv.reset(seed=4)
    assert obs.tolist() == [env.reset(seed=4 + i)[0] for i, env in enumerate(envs)] == [3] * n
    rng = np.random.default_rng(2)
    ends = 0
    for _ in range(2 * SMALL.steps):
        actions = rng.integers(0, grid.num_actions, n)
        obs, rewards, terminated, _, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, _, step_info = env.step(actions[i])
            assert r == pytest.approx(rewards[i], rel=1e-12) and term == terminated[i]
            if term:
                ends += 1
                q = int(info["final_info"]["inventory"][i])
                assert info["final_obs"][i] == o == SMALL.steps * 7 + q + 3
                o, _ = env.reset()
            assert obs[i] == o
    assert ends == 2 * n


def test_tabular_env_of_the_mdp_and_the_discrete_env_share_the_layout():
    grid = QuoteGrid(SMALL)
    mdp = grid.mdp()
    start = np.zeros(grid.levels)
    start[SMALL.max_inventory] = 1.0
    tabular = TabularVectorEnv(mdp, num_envs=1, initial_states=start)
    assert tabular.single_observation_space == grid.observation_space()
    assert tabular.single_action_space == grid.action_space()
    assert tabular.reset(seed=0)[0].tolist() == grid.vector_env(1).reset(seed=0)[0].tolist() == [3]


def test_check_env_passes_on_the_discrete_scalar_env():
    env = DiscreteEnv(MarketMakingEnv(params=SMALL), QuoteGrid(SMALL))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        check_env(env, skip_render_check=True)


def test_tabular_view_registry_builds_the_quote_grid_and_refuses_continuous_defaults():
    grid = tabular_view("MarketMaking-v0", SMALL)
    assert isinstance(grid, QuoteGrid) and grid.num_actions == 25
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lots'\].*valid: \[\]"):
        tabular_view("MarketMaking-v0", SMALL, lots=4)
    with pytest.raises(ValueError, match="tick_size = None"):
        tabular_view("MarketMaking-v0")                                # the default market quotes continuous depths


@pytest.mark.parametrize("make, message", [
    (lambda: QuoteGrid(MarketMakingParams()), r"tick grid.*tick_size = None.*set tick_size"),
    (lambda: QuoteGrid(MarketMakingParams(tick_size=0.5, objective="cara", risk_aversion=0.1)),
     r"objective = 'risk_neutral'.*objective = 'cara'.*set objective='risk_neutral'"),
    (lambda: QuoteGrid({"tick_size": 0.5}), "params must be a MarketMakingParams"),
    (lambda: QuoteGrid(MarketMakingParams(tick_size=0.1)), r"20,301·2,601 = 52,802,901 entries, more than 10,000,000"),
    (lambda: QuoteGrid(SMALL).env_actions(np.array([0]), np.array([25])), r"actions must lie in 0\.\.24"),
    (lambda: QuoteGrid(SMALL).env_actions(np.array([0]), np.array([1.0])), "action must be integers for the action space Discrete"),
    (lambda: DiscreteVectorEnv(MarketMakingVectorEnv(num_envs=2, params=SMALL),
                               QuoteGrid(MarketMakingParams(steps=12, max_inventory=3, tick_size=1.0,
                                                            max_depth=2.0))), "params differ"),
])
def test_invalid_grids_actions_and_envs_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_qlearning_run_learns_the_small_market_and_is_scored_against_the_env_oracle(tmp_path):
    params = {"steps": 5, "max_inventory": 2, "tick_size": 1.0, "max_depth": 2.0}
    config = parse_config({"env": {"id": "MarketMaking-v0", "params": params},
                           "agent": {"algo": "qlearning", "num_envs": 512,
                                     "hyperparameters": {"step_size_exponent": 0.8}},
                           "training": {"total_steps": 300_000, "eval_every": 150_000, "eval_episodes": 2000},
                           "seeds": [0], "output": str(tmp_path / "q")})
    run_experiment(config)
    final = json.loads((config.output / "seed_0" / "result.json").read_text())["final"]
    oracle = execgym.make_oracle("MarketMaking-v0", **params).expected_return
    assert final["oracle_return"] == final["discretised_optimum"]["oracle_return"] == pytest.approx(oracle)
    assert final["regret_pct"] < 1.0
