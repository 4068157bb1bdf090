"""Two-asset PortfolioExec-v0 on a lot grid: the MDP's values against schedule.py and brute force, its
optimum against the LQ oracle and in the real env, and the discrete envs' maps."""

import itertools
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import execgym
from execgym.problems.portfolio_exec import schedule
from execgym.problems.portfolio_exec.env import PortfolioExecEnv, PortfolioExecVectorEnv
from execgym.problems.portfolio_exec.grid import PortfolioLotGrid
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.solvers.dp import backward_induction, policy_values
from execgym.tabular import DiscreteEnv, DiscreteVectorEnv, TabularVectorEnv, tabular_view

# A long–short book with asymmetric temporary and permanent cross-impact (a transposed matrix would show).
BOOK = dict(holdings=(600_000.0, -400_000.0), arrival_prices=(100.0, 50.0), covariance=((2.5, 0.6), (0.6, 0.9)),
            temporary_impact=((2e-7, 5e-8), (2e-8, 4e-7)), permanent_impact=((2e-8, 6e-9), (1e-9, 4e-8)),
            half_spreads=(0.01, 0.02), risk_aversion=1e-6)
P = PortfolioExecParams(**BOOK, periods=4)


def lots_paths(lots: int, periods: int) -> np.ndarray:
    """Every non-increasing path of lot counts from ``lots`` to 0 over ``periods`` periods: (paths, N + 1)."""
    inner = [c[::-1] for c in itertools.combinations_with_replacement(range(lots + 1), periods - 1)]
    return np.array([[lots, *c, 0] for c in inner])


def schedule_table(grid: PortfolioLotGrid, lots_held: np.ndarray) -> np.ndarray:
    """A (T, S) policy following ``lots_held`` (N + 1, 2) on its path (0 elsewhere)."""
    periods, side = grid.params.periods, grid.max_trade_lots + 1
    table = np.zeros((periods, grid.states_per_stage), dtype=np.int64)
    trades = np.minimum(-np.diff(lots_held, axis=0), grid.max_trade_lots)   # the last period clears anyway
    states = lots_held[:-1, 0] * (grid.lots + 1) + lots_held[:-1, 1]
    table[np.arange(periods), states] = trades[:, 0] * side + trades[:, 1]
    return table


@pytest.mark.parametrize("params", [P, PortfolioExecParams(**{**BOOK, "holdings": (-300_000.0, -800_000.0)},
                                                           periods=5)])
def test_mdp_values_of_schedules_equal_schedule_py_and_the_optimum_is_the_brute_force_best(params):
    grid = PortfolioLotGrid(params, lots=3)
    mdp = grid.mdp()
    paths = lots_paths(3, params.periods)
    pairs = np.array([np.stack([a, b], axis=-1) for a in paths for b in paths])      # (400 or 1225, N + 1, 2)
    exact = schedule.expected_return(params, pairs * grid.lot_sizes)
    start = 3 * 4 + 3
    for index in np.random.default_rng(0).choice(len(pairs), 60, replace=False):
        value = policy_values(mdp, schedule_table(grid, pairs[index]))[0, start]
        assert value == pytest.approx(exact[index], rel=1e-10, abs=1e-10)
    oracle = grid.oracle()
    best = int(np.argmax(exact))
    assert oracle.expected_return == pytest.approx(exact[best], rel=1e-12)
    np.testing.assert_allclose(oracle.schedule, pairs[best] * grid.lot_sizes, rtol=0, atol=1e-6)
    assert np.sort(exact)[-2] < exact[best] - 1e-6                                     # a unique optimum
    assert oracle.expected_shortfall == pytest.approx(schedule.expected_shortfall(params, oracle.schedule))
    assert oracle.variance == pytest.approx(schedule.variance(params, oracle.schedule))


def test_one_period_rewards_by_hand_and_the_last_period_clears():
    grid = PortfolioLotGrid(P, lots=4, max_trade_lots=3)
    assert (grid.num_states, grid.num_actions) == (5 * 25, 16)
    np.testing.assert_allclose(grid.lot_sizes, [150_000.0, -100_000.0])
    mdp = grid.mdp()
    # From (q1, q2) = (4, 2) trade (j1, j2) = (1, 3): 1 lot of asset 0, both lots left of asset 1.
    state, action = 4 * 5 + 2, 1 * 4 + 3
    n = np.array([150_000.0, -200_000.0])
    left = np.array([450_000.0, 0.0])
    H, G, S = P.eta, P.gamma, P.sigma
    cost = (n @ H @ n / P.tau + 0.01 * 150_000 + 0.02 * 200_000 + (G @ n) @ left
            + P.risk_aversion * P.tau * left @ S @ left)
    assert mdp.rewards[0, state, action] == pytest.approx(-cost * 1e4 / (6e7 + 2e7), rel=1e-13)
    assert mdp.next_states[0, state, action, 0] == 3 * 5 + 0
    assert (mdp.next_states[-1, :, :, 0] == 0).all()                                    # the last period clears
    np.testing.assert_array_equal(mdp.rewards[-1], mdp.rewards[-1, :, :1] * np.ones(16))
    assert mdp.rewards[0, 0, 5] == 0.0                                                  # nothing left: nothing paid


def test_state_index_and_env_actions_by_hand():
    grid = PortfolioLotGrid(P, lots=10, max_trade_lots=4)
    obs = np.array([[1.0, 1.0, 1.0, 0.3, -2.0],         # k = 0, (10, 10)
                    [0.75, 0.4, 0.0, 0.0, 0.0],         # k = 1, (4, 0)
                    [0.25, 0.0, 0.52, 1.0, 1.0],        # k = 3, (0, 5)
                    [0.0, 0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(grid.state_index(obs), [10 * 11 + 10, 121 + 44, 3 * 121 + 5, 4 * 121])
    states = np.array([120, 121 + 44, 3 * 121 + 5, 3 * 121 + 5])
    actions = np.array([2 * 5 + 3, 4 * 5 + 4, 1 * 5 + 0, 0])
    np.testing.assert_allclose(grid.fractions(states, actions), [[0.2, 0.3], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(grid.env_actions(states, actions), [[-0.6, -0.4], [1.0, -1.0], [-1, -1], [-1, -1]])


def test_grid_optimum_is_below_the_lq_oracle_and_converges_to_it():
    lq = execgym.make_oracle("PortfolioExec-v0", params=P).expected_return
    values = np.array([PortfolioLotGrid(P, lots).oracle().expected_return for lots in (2, 4, 8, 16)])
    gaps = lq - values
    # Measured: 9.41, 1.49, 0.529, 0.154 bps (33.1, 5.23, 1.86, 0.54 % of the oracle's −28.42 bps).
    assert (gaps > 0).all() and (np.diff(gaps) < 0).all()
    assert gaps[-1] / abs(lq) < 0.01 and gaps[0] / abs(lq) > 0.3


@pytest.mark.slow
def test_grid_optimum_in_the_real_env_matches_its_exact_value_and_its_gap_to_the_lq_oracle():
    grid_oracle = PortfolioLotGrid(P, 6).oracle()
    lq = execgym.make_oracle("PortfolioExec-v0", params=P)
    result = execgym.score(lq.policy, "PortfolioExec-v0", params=P, oracle=grid_oracle, episodes=4000, seed=3)
    assert result.oracle_return == grid_oracle.expected_return
    assert result.reference_return.low <= grid_oracle.expected_return <= result.reference_return.high
    exact_regret = grid_oracle.expected_return - lq.expected_return   # −1.099 bps: the LQ oracle is better
    assert exact_regret < -0.8
    assert result.regret.low <= exact_regret <= result.regret.high


def test_discrete_vector_env_under_the_dp_policy_follows_the_grid_optimum_in_every_slot():
    grid, n = PortfolioLotGrid(P, 6, max_trade_lots=5), 8
    oracle, policy = grid.oracle(), backward_induction(grid.mdp()).policy
    venv = grid.vector_env(n)
    assert isinstance(venv, DiscreteVectorEnv) and venv.single_observation_space.n == 5 * 49
    obs, info = venv.reset(seed=5)
    holdings, states = [info["holdings"]], [obs]
    for k in range(P.periods):
        obs, _, terminated, _, info = venv.step(policy[obs // 49, obs % 49])
        assert terminated.all() == (k == P.periods - 1)
        states.append(info["final_obs"] if terminated.all() else obs)
        holdings.append(info["final_info"]["holdings"] if terminated.all() else info["holdings"])
    holdings = np.array(holdings)
    np.testing.assert_allclose(holdings, np.repeat(oracle.schedule[:, None], n, axis=1), rtol=0, atol=1e-6)
    lots = np.rint(oracle.schedule / grid.lot_sizes).astype(int)
    expected = np.arange(P.periods + 1) * 49 + lots[:, 0] * 7 + lots[:, 1]
    np.testing.assert_array_equal(np.array(states), np.repeat(expected[:, None], n, axis=1))
    assert len({tuple(row) for row in lots}) == P.periods + 1                            # moves every period


def test_tabular_env_of_the_grid_mdp_and_the_discrete_env_share_the_layout_and_value():
    grid = PortfolioLotGrid(P, 5, max_trade_lots=3)
    mdp = grid.mdp()
    policy = backward_induction(mdp).policy
    start = np.zeros(grid.states_per_stage)
    start[5 * 6 + 5] = 1.0
    tabular = TabularVectorEnv(mdp, num_envs=1, initial_states=start)
    discrete = grid.vector_env(1)
    a, _ = tabular.reset(seed=0)
    b, _ = discrete.reset(seed=0)
    total = 0.0
    for _ in range(P.periods):
        np.testing.assert_array_equal(a, b)
        actions = policy[a // 36, a % 36]
        a, reward, _, _, info_a = tabular.step(actions)
        b, _, _, _, info_b = discrete.step(actions)
        total += reward[0]
    np.testing.assert_array_equal(info_a["final_obs"], info_b["final_obs"])
    assert total == pytest.approx(grid.oracle().expected_return, rel=1e-12)


def test_discrete_vector_env_matches_discrete_scalar_envs_across_autoresets():
    grid, n = PortfolioLotGrid(P, 4, max_trade_lots=2), 3
    venv = DiscreteVectorEnv(PortfolioExecVectorEnv(num_envs=n, params=P), grid)
    envs = [DiscreteEnv(PortfolioExecEnv(params=P), grid) for _ in range(n)]
    obs, _ = venv.reset(seed=7)
    assert obs.tolist() == [env.reset(seed=7 + i)[0] for i, env in enumerate(envs)] == [4 * 5 + 4] * n
    rng = np.random.default_rng(1)
    ends = 0
    for _ in range(3 * P.periods):
        actions = rng.integers(0, 9, n)
        obs, rewards, terminated, _, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, _, _ = env.step(actions[i])
            assert r == pytest.approx(rewards[i], rel=1e-12) and term == terminated[i]
            if term:
                ends += 1
                assert info["final_obs"][i] == o == P.periods * 25
                o, _ = env.reset()
            assert obs[i] == o
    assert ends == 3 * n


def test_check_env_passes_on_the_discrete_scalar_env():
    env = DiscreteEnv(PortfolioExecEnv(params=P), PortfolioLotGrid(P, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        check_env(env, skip_render_check=True)


def test_tabular_view_registry_builds_the_portfolio_grid_with_its_defaults():
    grid = tabular_view("PortfolioExec-v0", P)
    assert isinstance(grid, PortfolioLotGrid) and (grid.lots, grid.max_trade_lots) == (10, 10)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lot'\].*valid: \['lots', 'max_trade_lots'\]"):
        tabular_view("PortfolioExec-v0", P, lot=3)
    with pytest.raises(ValueError, match=r"exactly 2 assets.*m = 3 assets"):
        tabular_view("PortfolioExec-v0")                                                # the default book: 3 assets


@pytest.mark.parametrize("make, message", [
    (lambda: PortfolioLotGrid(PortfolioExecParams(), 5), r"exactly 2 assets .*m = 3"),
    (lambda: PortfolioLotGrid(PortfolioExecParams(holdings=(1e6,), arrival_prices=(50.0,)), 5), "m = 1"),
    (lambda: PortfolioLotGrid(PortfolioExecParams(holdings=(1e6, 0.0), arrival_prices=(50.0, 20.0)), 5),
     r"holdings\[1\] is 0"),
    (lambda: PortfolioLotGrid(P, 0), r"lots must be an integer in \[1, 1000\]"),
    (lambda: PortfolioLotGrid(P, 5, max_trade_lots=6), r"max_trade_lots must be an integer in \[1, 5\]"),
    (lambda: PortfolioLotGrid({"holdings": (1.0, 2.0)}, 5), "params must be a PortfolioExecParams"),
    (lambda: PortfolioLotGrid(P, 5, 2).fractions(np.array([0]), np.array([9])), r"actions must lie in 0\.\.8"),
    (lambda: PortfolioLotGrid(P, 5, 2).fractions(np.array([0]), np.array([1.0])), "action must be integers for the action space Discrete"),
    (lambda: DiscreteVectorEnv(PortfolioExecVectorEnv(num_envs=2, params=P), PortfolioLotGrid(
        PortfolioExecParams(**{**BOOK, "risk_aversion": 0.0}, periods=4), 5)), "params differ"),
    (lambda: DiscreteEnv(execgym.PROBLEMS["OptimalExec-v0"].env_class(), PortfolioLotGrid(P, 5)),
     "env must wrap an PortfolioExecEnv"),
])
def test_invalid_grids_actions_and_envs_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()
