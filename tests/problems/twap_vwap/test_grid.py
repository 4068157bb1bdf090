"""TwapVwapSwitch-v0 as a table: backward induction on the view's whole MDP against the oracle's bucket-by-bucket
solve, its rewards against the env's, the state and action maps, refusals, the discrete envs and Q-learning through
`execgym run`."""

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import execgym
from execgym.problems.twap_vwap import oracle as tv_oracle
from execgym.problems.twap_vwap import policies
from execgym.problems.twap_vwap.env import TwapVwapEnv, TwapVwapVectorEnv
from execgym.problems.twap_vwap.grid import PaceGrid
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.solvers.dp import backward_induction, policy_values
from execgym.tabular import DiscreteEnv, DiscreteVectorEnv, TablePolicy, TabularVectorEnv, tabular_view
from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment

SMALL = TwapVwapParams(buckets=6, volume_profiles=[[3.0, 1.5, 1.0, 1.0, 1.5, 4.0], [5.0, 2.0, 1.0, 0.8, 1.0, 2.0]],
                       day_probabilities=(0.4, 0.6), volatility=30.0, risk_aversion=5e-4, pov_rate=0.2, order_size=2.0)
MARKETS = {"default": TwapVwapParams(), "small": SMALL,
           "days": TwapVwapParams(buckets=8, volume_profiles=[[1.0] * 8, [4, 2, 1, 1, 1, 1, 2, 4]],
                                  day_probabilities=(0.3, 0.7))}


def dp_stages(grid: PaceGrid):
    """(values per stage (S_t,), actions per stage (S_t,)) of backward induction on the view's whole MDP."""
    solution = backward_induction(grid.mdp())
    counts = grid.states.counts
    return ([solution.values[t, :n] for t, n in enumerate(counts)],
            [solution.policy[t, :n] for t, n in enumerate(counts[:-1])])


@pytest.mark.parametrize("name", list(MARKETS))
def test_backward_induction_on_the_mdp_equals_the_oracle(name):
    params = MARKETS[name]
    grid = PaceGrid(params)
    values, actions = dp_stages(grid)
    oracle = grid.oracle()
    for t in range(params.buckets):
        np.testing.assert_allclose(values[t], oracle.values[t], rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(actions[t], oracle.actions[t])
    assert oracle.expected_return == pytest.approx(params.probabilities @ values[0], rel=1e-13)
    assert oracle.expected_return == execgym.make_oracle("TwapVwapSwitch-v0", params=params).expected_return


@pytest.mark.parametrize("name", ["small", "days"])
def test_any_action_table_is_worth_the_same_in_the_mdp_and_in_the_oracles_evaluation(name):
    params = MARKETS[name]
    grid = PaceGrid(params)
    mdp, counts, width = grid.mdp(), grid.states.counts, grid.states_per_stage
    rng = np.random.default_rng(0)
    for _ in range(5):
        table = rng.integers(0, grid.num_actions, (params.buckets, width))
        stages = tuple(table[t, :n] for t, n in enumerate(counts[:-1]))
        assert params.probabilities @ policy_values(mdp, table)[0, :params.day_types] == pytest.approx(
            tv_oracle.start_value(params, tv_oracle.evaluate(grid.states, stages)), rel=1e-13)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["small", "days"])
def test_mdp_rewards_are_the_env_rewards_without_price_noise(name):
    noisy = MARKETS[name]
    params = replace(noisy, volatility=0.0, risk_aversion=0.0)
    grid, quiet_grid = PaceGrid(noisy), PaceGrid(params)
    venv = TwapVwapVectorEnv(num_envs=64, params=params)
    obs, _ = venv.reset(seed=0)
    mdp, noisy_mdp = quiet_grid.mdp(), grid.mdp()
    risk = noisy.risk_aversion * noisy.volatility**2
    rng = np.random.default_rng(1)
    for t in range(params.buckets):
        states = grid.state_index(obs)
        assert (states == quiet_grid.state_index(obs)).all()        # σ and λ do not change the reachable states
        _, index = grid.stages_and_states(states)
        actions = rng.integers(0, grid.num_actions, 64)
        obs, rewards, _, _, info = venv.step(actions)
        np.testing.assert_allclose(rewards, mdp.rewards[t, index, actions], rtol=1e-13)
        # with the risk penalty: the view's reward is minus impact minus λσ²·x'², x' the env's remaining
        held = info["final_info"]["remaining"] if t == params.buckets - 1 else info["remaining"]
        np.testing.assert_allclose(noisy_mdp.rewards[t, index, actions], rewards - risk * held**2, rtol=1e-13)


@pytest.mark.parametrize("name", list(MARKETS))
def test_state_index_round_trips_the_observation_of_every_reachable_state(name):
    grid = PaceGrid(MARKETS[name])
    states = grid.states
    assert grid.oracle().misread_states == 0
    for t in range(MARKETS[name].buckets + 1):
        index = grid.state_index(states.observations(t))
        np.testing.assert_array_equal(index, t * grid.states_per_stage + np.arange(states.counts[t]))
        stage, within = grid.stages_and_states(index)
        assert (stage == t).all() and (within == np.arange(states.counts[t])).all()
    # a flat day merges TWAP and VWAP (equal up to rounding) into one state per bucket
    assert states.counts.tolist() == {"default": [2**t for t in range(13)] + [1],
                                      "small": [2, 6, 17, 48, 142, 409, 2],
                                      "days": [2, 3, 5, 9, 16, 23, 45, 81, 2]}[name]
    assert grid.num_states == (MARKETS[name].buckets + 1) * int(states.counts.max())


def test_the_dp_policy_through_the_view_acts_like_the_oracle_in_the_real_env():
    grid = PaceGrid(SMALL)
    policy = backward_induction(grid.mdp()).policy
    table = np.zeros(grid.num_states, dtype=np.int64)
    table[:policy.size] = policy.ravel()
    result = execgym.score(grid.env_policy(TablePolicy(table)), "TwapVwapSwitch-v0", params=SMALL, episodes=500)
    assert result.oracle_return == grid.oracle().expected_return
    assert result.regret.mean == 0.0 and result.regret.std == 0.0      # same paces on every step: same episode


def test_discrete_vector_env_matches_discrete_scalar_envs_across_autoresets():
    grid, n = PaceGrid(SMALL), 3
    venv = grid.vector_env(n)
    assert isinstance(venv, DiscreteVectorEnv) and venv.single_observation_space.n == grid.num_states
    envs = [DiscreteEnv(TwapVwapEnv(params=SMALL), grid) for _ in range(n)]
    obs, info = venv.reset(seed=4)
    assert obs.tolist() == [env.reset(seed=4 + i)[0] for i, env in enumerate(envs)] == info["day_type"].tolist()
    rng = np.random.default_rng(2)
    ends = 0
    for _ in range(2 * SMALL.buckets):
        actions = rng.integers(0, grid.num_actions, n)
        obs, rewards, terminated, _, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, _, _ = env.step(actions[i])
            assert r == rewards[i] and term == terminated[i]
            if term:
                ends += 1
                day = int(info["final_info"]["day_type"][i])
                assert info["final_obs"][i] == o == SMALL.buckets * grid.states_per_stage + day
                o, _ = env.reset()
            assert obs[i] == o
    assert ends == 2 * n


def test_tabular_env_of_the_mdp_and_the_discrete_env_share_the_layout():
    grid = PaceGrid(SMALL)
    start = np.zeros(grid.states_per_stage)
    start[:2] = SMALL.probabilities
    tabular = TabularVectorEnv(grid.mdp(), num_envs=1, initial_states=start)
    assert tabular.single_observation_space == grid.observation_space()
    assert tabular.single_action_space == grid.action_space()


def test_check_env_passes_on_the_discrete_scalar_env():
    env = DiscreteEnv(TwapVwapEnv(params=SMALL), PaceGrid(SMALL))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        check_env(env, skip_render_check=True)


def test_tabular_view_registry_builds_the_pace_grid():
    grid = tabular_view("TwapVwapSwitch-v0")
    assert isinstance(grid, PaceGrid) and grid.params == TwapVwapParams() and grid.num_actions == 2
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lots'\].*valid: \[\]"):
        tabular_view("TwapVwapSwitch-v0", SMALL, lots=4)


@pytest.mark.parametrize("make, message", [
    (lambda: PaceGrid({"buckets": 6}), "params must be a TwapVwapParams"),
    (lambda: PaceGrid(TwapVwapParams(pov_rate=0.1)), r"14·262,316·3 = .* more than 10,000,000"),
    (lambda: PaceGrid(SMALL).env_actions(np.array([0]), np.array([3])), r"actions must lie in 0\.\.2"),
    (lambda: PaceGrid(SMALL).env_actions(np.array([0]), np.array([1.0])), "action must be integers for the action space Discrete"),
    (lambda: DiscreteVectorEnv(TwapVwapVectorEnv(num_envs=2, params=SMALL),
                               PaceGrid(replace(SMALL, volatility=5.0))), "params differ"),
])
def test_invalid_grids_actions_and_envs_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.slow
def test_qlearning_run_learns_the_optimal_switch(tmp_path):
    """Two day types over 5 buckets, a quiet market (σ = 2 bps per bucket, λσ² = 2) so that a short run resolves
    the paces; the optimum switches in both day types and TWAP, the best baseline, loses 13 %."""
    params = {"buckets": 5, "volume_profiles": [[3.0, 1.0, 1.0, 1.0, 3.0], [1.0, 1.0, 1.0, 2.0, 5.0]],
              "day_probabilities": [0.5, 0.5], "impact": [300.0, 100.0, 100.0, 80.0, 40.0],
              "volatility": 2.0, "risk_aversion": 0.5}
    p = TwapVwapParams(**params)
    oracle = execgym.make_oracle("TwapVwapSwitch-v0", params=p).expected_return
    assert oracle == pytest.approx(-24.0793, abs=1e-4)
    assert max(policies.baseline_values(p).values()) == pytest.approx(-27.2)   # always TWAP
    config = parse_config({"env": {"id": "TwapVwapSwitch-v0", "params": params},
                           "agent": {"algo": "qlearning", "num_envs": 256,
                                     "hyperparameters": {"step_size_exponent": 0.7}},
                           "training": {"total_steps": 200_000, "eval_every": 100_000, "eval_episodes": 2_000},
                           "seeds": [0], "output": str(tmp_path / "q")})
    run_experiment(config)
    final = json.loads((config.output / "seed_0" / "result.json").read_text())["final"]
    assert final["oracle_return"] == final["discretised_optimum"]["oracle_return"] == pytest.approx(oracle)
    assert final["regret"] == pytest.approx(0.0, abs=1e-9)            # the optimal pace in every bucket
