"""Lot-grid discretisation of OptimalExec-v0: exact values against schedule.py and the LQ oracle, the
discrete envs against the continuous ones and against the tabular env of the same MDP."""

import warnings
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import execgym
from execgym.problems.optimal_exec import policies
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.grid import DiscreteOptimalExecEnv, DiscreteOptimalExecVectorEnv, LotGrid
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.dp import backward_induction, policy_values
from execgym.tabular import TabularVectorEnv

# Measured with default parameters (oracle value −48.006 bps): the gap to the LQ oracle is
# 17.33, 4.689, 0.9215, 0.1922, 0.05038 bps (36.1, 9.77, 1.92, 0.400, 0.105 %) at 5, 10, 20, 40, 80 lots.
FINEST_RELATIVE_GAP = 0.0011


def test_discretised_optimum_converges_to_the_lq_oracle_as_lots_grow():
    p = OptimalExecParams()
    exact = execgym.make_oracle("OptimalExec-v0", params=p).expected_return
    gaps = np.array([exact - LotGrid(p, lots).oracle().expected_return for lots in (5, 10, 20, 40, 80)])
    assert (gaps > 0).all()
    assert (np.diff(gaps) < 0).all()
    assert gaps[-1] / abs(exact) < FINEST_RELATIVE_GAP
    assert gaps[0] / abs(exact) > 0.3   # 5 lots for 13 periods is a coarse grid


@pytest.mark.parametrize("lots", [13, 26])
def test_without_risk_aversion_the_grid_optimum_is_twap_and_equals_the_lq_oracle(lots):
    p = OptimalExecParams(risk_aversion=0.0)
    oracle = LotGrid(p, lots).oracle()
    twap = policies.twap(p).schedule
    np.testing.assert_allclose(oracle.schedule, twap, rtol=0, atol=1e-9 * p.shares)
    assert oracle.expected_return == pytest.approx(schedule.expected_return(p, twap), rel=1e-12)
    assert oracle.expected_return == pytest.approx(execgym.make_oracle("OptimalExec-v0", params=p).expected_return,
                                                   rel=1e-9)


def random_grid_holdings(rng, grid):
    """A random non-increasing path of lot counts from L to 0 over N periods."""
    inner = np.sort(rng.integers(0, grid.lots + 1, grid.params.periods - 1))[::-1]
    return np.concatenate([[grid.lots], inner, [0]])


def schedule_policy(grid, lots_held):
    """A (T, S) table following ``lots_held`` on its path (0 elsewhere)."""
    table = np.zeros((grid.params.periods, grid.states_per_stage), dtype=np.int64)
    table[np.arange(grid.params.periods), lots_held[:-1]] = -np.diff(lots_held)
    return table


@pytest.mark.parametrize("params", [OptimalExecParams(),
                                    OptimalExecParams(side="buy", drift=-0.4, risk_aversion=2e-6, periods=9)])
def test_mdp_values_equal_schedule_costs_and_the_optimum_beats_200_random_schedules(params):
    grid = LotGrid(params, 20)
    mdp = grid.mdp()
    rng = np.random.default_rng(0)
    values = []
    for _ in range(200):
        lots_held = random_grid_holdings(rng, grid)
        value = policy_values(mdp, schedule_policy(grid, lots_held))[0, grid.lots]
        holdings = lots_held * grid.lot_size
        assert value == pytest.approx(schedule.expected_return(params, holdings), rel=1e-12)
        values.append(value)
    oracle = grid.oracle()
    assert oracle.expected_return == pytest.approx(schedule.expected_return(params, oracle.schedule), rel=1e-12)
    assert oracle.expected_return > max(values) + 1e-6
    assert oracle.expected_shortfall == pytest.approx(schedule.expected_shortfall(params, oracle.schedule))


def test_dp_oracle_in_the_continuous_env_matches_its_exact_value_and_its_regret_to_the_lq_oracle():
    p = OptimalExecParams()
    grid_oracle = LotGrid(p, 10).oracle()
    lq = execgym.make_oracle("OptimalExec-v0", params=p)
    result = execgym.score(lq.policy, "OptimalExec-v0", params=p, oracle=grid_oracle, episodes=20_000, seed=1)
    assert result.oracle_return == grid_oracle.expected_return
    assert result.reference_return.low <= grid_oracle.expected_return <= result.reference_return.high
    exact_regret = grid_oracle.expected_return - lq.expected_return   # negative: the LQ oracle is better
    assert exact_regret < -4.0
    assert result.regret.low <= exact_regret <= result.regret.high


def dp_table_actions(policy, lots, obs):
    return policy[obs // (lots + 1), obs % (lots + 1)]


def test_discrete_vector_env_under_the_dp_policy_follows_the_oracle_schedule_on_the_grid():
    p, lots, n = OptimalExecParams(drift=0.2), 20, 16
    grid = LotGrid(p, lots)
    oracle = grid.oracle()
    policy = backward_induction(grid.mdp()).policy
    venv = DiscreteOptimalExecVectorEnv(OptimalExecVectorEnv(num_envs=n, params=p), lots)
    obs, info = venv.reset(seed=4)
    inventories, states = [info["inventory"]], [obs]
    for k in range(p.periods):
        obs, _, terminated, _, info = venv.step(dp_table_actions(policy, lots, obs))
        assert terminated.all() == (k == p.periods - 1) and terminated.any() == terminated.all()
        states.append(info["final_obs"] if terminated.all() else obs)
        inventories.append(info["final_info"]["inventory"] if terminated.all() else info["inventory"])
    inventories, states = np.array(inventories), np.array(states)
    np.testing.assert_allclose(inventories, np.repeat(oracle.schedule[:, None], n, axis=1),
                               rtol=0, atol=1e-9 * p.shares)
    lot_counts = inventories / grid.lot_size
    np.testing.assert_allclose(lot_counts, np.rint(lot_counts), rtol=0, atol=1e-9)
    expected_states = np.arange(p.periods + 1) * (lots + 1) + np.rint(oracle.schedule / grid.lot_size)
    np.testing.assert_array_equal(states, np.repeat(expected_states[:, None], n, axis=1))
    assert len(np.unique(oracle.schedule)) > 5   # the schedule is not trivial


def test_tabular_env_of_the_grid_mdp_and_the_discrete_env_share_the_observation_layout():
    p, lots = OptimalExecParams(periods=6), 12
    grid = LotGrid(p, lots, max_trade_lots=4)
    mdp = grid.mdp()
    policy = backward_induction(mdp).policy
    tabular = TabularVectorEnv(mdp, num_envs=1, initial_states=np.eye(lots + 1)[lots])
    discrete = DiscreteOptimalExecVectorEnv(OptimalExecVectorEnv(num_envs=1, params=p), lots, max_trade_lots=4)
    a, _ = tabular.reset(seed=0)
    b, _ = discrete.reset(seed=0)
    total = 0.0
    for _ in range(p.periods):
        np.testing.assert_array_equal(a, b)
        actions = dp_table_actions(policy, lots, a)
        a, reward, _, _, info_a = tabular.step(actions)
        b, _, _, _, info_b = discrete.step(actions)
        total += reward[0]
    np.testing.assert_array_equal(info_a["final_obs"], info_b["final_obs"])
    assert total == pytest.approx(grid.oracle().expected_return, rel=1e-12)


def test_trade_cap_binds_and_costs_value():
    p = OptimalExecParams()
    free, capped = LotGrid(p, 40).oracle(), LotGrid(p, 40, max_trade_lots=3).oracle()
    trades = -np.diff(capped.schedule) / (p.shares / 40)
    assert trades[:-1].max() == pytest.approx(3.0) and trades[0] == pytest.approx(3.0)
    assert capped.expected_return < free.expected_return - 1.0


def test_discrete_vector_env_matches_discrete_scalar_envs_across_autoresets():
    params, n, lots = OptimalExecParams(periods=5, risk_aversion=1e-6, drift=0.3), 4, 8
    venv = DiscreteOptimalExecVectorEnv(OptimalExecVectorEnv(num_envs=n, params=params), lots, max_trade_lots=5)
    envs = [DiscreteOptimalExecEnv(OptimalExecEnv(params=params), lots, max_trade_lots=5) for _ in range(n)]
    obs, _ = venv.reset(seed=11)
    assert obs.tolist() == [env.reset(seed=11 + i)[0] for i, env in enumerate(envs)] == [lots] * n
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(3 * params.periods):
        actions = rng.integers(0, 6, n)
        obs, rewards, terminated, _, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, _, inf = env.step(actions[i])
            assert r == rewards[i] and term == terminated[i]
            if term:
                ends += 1
                assert info["final_obs"][i] == o and o // (lots + 1) == params.periods
                assert {k: info["final_info"][k][i] for k in inf} == inf
                o, _ = env.reset()
            assert obs[i] == o
    assert ends == 3 * n


def test_check_env_passes_on_the_discrete_scalar_env():
    env = DiscreteOptimalExecEnv(gym.make("OptimalExec-v0").unwrapped, lots=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        check_env(env, skip_render_check=True)


def test_state_index_fractions_and_one_period_reward_by_hand():
    p = OptimalExecParams(periods=4)
    grid = LotGrid(p, lots=10, max_trade_lots=6)
    assert (grid.num_states, grid.num_actions, grid.lot_size) == (55, 7, 100_000.0)
    obs = np.array([[1.0, 1.0, 0.3], [0.75, 0.4, -1.0], [0.25, 0.0, 0.0], [0.0, 0.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(grid.state_index(obs), [10, 11 + 4, 33, 44])
    np.testing.assert_array_equal(grid.fractions(np.array([10, 15, 33, 15]), np.array([3, 6, 2, 0])),
                                  [0.3, 1.0, 0.0, 0.0])
    # One period of a sell with n = 300 000 shares out of X = 1 000 000 (x' = 700 000), no drift.
    n, left = 300_000.0, 700_000.0
    cost = (n * (p.half_spread + p.temporary_impact * n / p.tau) + p.permanent_impact * n * left
            + p.risk_aversion * p.volatility**2 * p.tau * left**2)
    mdp = grid.mdp()
    assert mdp.rewards[0, 10, 3] == pytest.approx(-cost * 1e4 / 1e8, rel=1e-14)
    assert mdp.next_states[0, 10, 3, 0] == 7 and mdp.next_states[0, 4, 6, 0] == 0
    assert (mdp.next_states[-1, :, :, 0] == 0).all()   # the last period trades everything
    np.testing.assert_array_equal(mdp.rewards[-1], mdp.rewards[-1, :, :1] * np.ones(7))


def test_buy_with_opposite_drift_has_the_same_grid_values_as_sell():
    sell = OptimalExecParams(drift=0.5)
    buy = replace(sell, side="buy", drift=-0.5)
    np.testing.assert_array_equal(LotGrid(sell, 15).mdp().rewards, LotGrid(buy, 15).mdp().rewards)
    assert LotGrid(sell, 15).mdp().rewards[0, 15, 0] != LotGrid(replace(sell, side="buy"), 15).mdp().rewards[0, 15, 0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(lots=0), r"lots must be an integer in \[1, 1000000\]"),
    (dict(lots=2.5), "lots must be an integer"),
    (dict(lots=5, max_trade_lots=0), r"max_trade_lots must be an integer in \[1, 5\]"),
    (dict(lots=5, max_trade_lots=6), r"max_trade_lots must be an integer in \[1, 5\]"),
])
def test_invalid_grids_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LotGrid(OptimalExecParams(), **kwargs)


def test_invalid_actions_and_envs_raise():
    grid = LotGrid(OptimalExecParams(), 10, max_trade_lots=4)
    with pytest.raises(ValueError, match=r"actions must lie in 0\.\.4 \(max_trade_lots\)"):
        grid.fractions(np.array([10]), np.array([5]))
    with pytest.raises(ValueError, match="action must be integers for the action space Discrete"):
        grid.fractions(np.array([10]), np.array([0.5]))
    with pytest.raises(ValueError, match="params must be an OptimalExecParams"):
        LotGrid({"shares": 1.0}, 10)
    with pytest.raises(ValueError, match="env must wrap an OptimalExecVectorEnv"):
        DiscreteOptimalExecVectorEnv(gym.make_vec("CartPole-v1", num_envs=2), 10)
    with pytest.raises(ValueError, match="env must wrap an OptimalExecEnv"):
        DiscreteOptimalExecEnv(gym.make("CartPole-v1"), 10)
    venv = DiscreteOptimalExecVectorEnv(OptimalExecVectorEnv(num_envs=3), 10)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros(3, dtype=int))
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must have shape \(3,\)"):
        venv.step(np.zeros(2, dtype=int))
