"""BasketSequence-v0 as a table: state indices, masks, the MDP against Held–Karp and brute force, the discrete envs."""

import itertools
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import execgym
from execgym import engine
from execgym.problems.basket_sequence import dynamics
from execgym.problems.basket_sequence.env import BasketSequenceEnv, BasketSequenceVectorEnv
from execgym.problems.basket_sequence.grid import BasketGrid
from execgym.problems.basket_sequence.params import BasketSequenceParams
from execgym.solvers.dp import backward_induction, policy_values
from execgym.solvers.sequencing import path_cost
from execgym.tabular import DiscreteEnv, DiscreteVectorEnv, tabular_view

P5 = BasketSequenceParams(trades=5, instance_seed=3)


def test_state_index_of_observations_by_hand():
    grid = BasketGrid(P5)
    assert (grid.num_states, grid.num_actions) == (32 * 6, 5)
    batch = engine.start(dynamics.DYNAMICS, P5, np.arange(3), np.zeros(3))
    states = [grid.state_index(engine.observe(dynamics.DYNAMICS, P5, batch))]
    for actions in ([2, 0, 4], [0, 4, 3]):
        batch = engine.step(dynamics.DYNAMICS, P5, batch, np.array(actions)).batch
        states.append(grid.state_index(engine.observe(dynamics.DYNAMICS, P5, batch)))
    # D·(n+1) + ℓ + 1: {} and none -> 0; {2} last 2 -> 4·6 + 3; {0, 2} last 0 -> 5·6 + 1 ...
    np.testing.assert_array_equal(states, [[0, 0, 0], [4 * 6 + 3, 1 * 6 + 1, 16 * 6 + 5],
                                           [5 * 6 + 1, 17 * 6 + 5, 24 * 6 + 4]])


def test_action_mask_allows_exactly_the_trades_not_done():
    grid = BasketGrid(P5)
    mask = grid.action_mask()
    assert mask.shape == (32 * 6, 5)
    done = np.arange(32 * 6) // 6
    np.testing.assert_array_equal(mask, (done[:, None] >> np.arange(5)) & 1 == 0)
    assert not mask[31 * 6:].any() and mask[0].all()


def test_mdp_optimum_is_held_karp_and_brute_force_and_order_values_are_their_costs():
    grid = BasketGrid(P5)
    mdp = grid.mdp()
    solution = backward_induction(mdp)
    costs = {order: path_cost(P5.first_costs, P5.costs, np.array(order)) for order in itertools.permutations(range(5))}
    best = min(costs, key=costs.get)
    oracle = grid.oracle()
    assert oracle.expected_return == execgym.make_oracle("BasketSequence-v0", params=P5).expected_return
    assert solution.values[0, 0] == pytest.approx(-costs[best], rel=1e-12) == oracle.expected_return
    assert tuple(oracle.order) == best
    # Any order as a table policy (the first of it not done, from any state) is worth −C(order).
    for order in list(costs)[::17]:
        table = np.zeros((5, grid.num_states), dtype=np.int64)
        pending = grid.action_mask()[:, list(order)]          # allowed = not done
        table[:] = np.where(pending.any(axis=1), np.array(order)[pending.argmax(axis=1)], 0)
        assert policy_values(mdp, table)[0, 0] == pytest.approx(-costs[order], rel=1e-12)


def test_oracle_and_greedy_table_policies_act_the_same_in_the_discrete_and_the_real_env():
    grid = BasketGrid(P5)
    table = backward_induction(grid.mdp()).policy                    # (stage, state): stage = |D|
    popcount = np.array([bin(s // 6).count("1") for s in range(grid.num_states)])
    by_state = table[np.minimum(popcount, 4), np.arange(grid.num_states)]
    policy = grid.env_policy(lambda states: by_state[states])
    result = execgym.score(policy, "BasketSequence-v0", params=P5, episodes=200, seed=0)
    assert result.regret.mean == pytest.approx(0.0, abs=1e-9)     # same order on every episode: same noise
    venv = grid.vector_env(4)
    obs, _ = venv.reset(seed=0)
    total = np.zeros(4)
    for step in range(5):
        obs_next, reward, terminated, _, info = venv.step(by_state[obs])
        total += reward
        obs = obs_next
    assert terminated.all() and (info["final_obs"] == 31 * 6 + grid.oracle().order[-1] + 1).all()
    assert (obs == 0).all()                                          # restarted
    np.testing.assert_allclose(total.mean(), grid.oracle().expected_return, atol=4 * 0.1 * np.sqrt(5))


def test_discrete_vector_env_matches_discrete_scalar_envs_and_keeps_the_env_mask():
    grid, n = BasketGrid(P5), 3
    venv = DiscreteVectorEnv(BasketSequenceVectorEnv(num_envs=n, params=P5), grid)
    envs = [DiscreteEnv(BasketSequenceEnv(params=P5), grid) for _ in range(n)]
    obs, info = venv.reset(seed=2)
    assert obs.tolist() == [env.reset(seed=2 + i)[0] for i, env in enumerate(envs)] == [0] * n
    mask = grid.action_mask()
    rng = np.random.default_rng(0)
    for _ in range(12):
        np.testing.assert_array_equal(info["action_mask"], mask[obs])
        actions = np.array([rng.choice(np.flatnonzero(mask[s])) for s in obs])
        obs, rewards, terminated, _, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, _, _ = env.step(actions[i])
            assert r == rewards[i] and term == terminated[i]
            if term:
                assert info["final_obs"][i] == o and o // 6 == 31
                o, _ = env.reset()
            assert obs[i] == o
    venv.reset(seed=0)
    venv.step(np.zeros(n, dtype=np.int64))
    with pytest.raises(ValueError, match="action 0 in slot 0 is masked"):
        venv.step(np.zeros(n, dtype=np.int64))                      # trade 0 is done: the env refuses it


def test_check_env_passes_on_the_discrete_scalar_env():
    env = DiscreteEnv(BasketSequenceEnv(params=P5), BasketGrid(P5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        check_env(env, skip_render_check=True)


def test_tabular_view_registry_builds_the_basket_grid_and_refuses_options():
    grid = tabular_view("BasketSequence-v0")
    assert isinstance(grid, BasketGrid) and grid.trades == 8 and grid.num_states == 256 * 9
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lots'\].*valid: \[\]"):
        tabular_view("BasketSequence-v0", lots=4)
    with pytest.raises(ValueError, match=r"env 'OptimalExecNonlinear-v0' has no tabular view.*'BasketSequence-v0', "
                                         r"'LimitOrMarket-v0', 'MarketMaking-v0', 'OptimalExec-v0', "
                                         r"'OptimalExecRegimes-v0', 'PortfolioExec-v0', 'TwapVwapSwitch-v0'"):
        tabular_view("OptimalExecNonlinear-v0")


@pytest.mark.parametrize("make, message", [
    (lambda: BasketGrid(BasketSequenceParams(trades=13)), r"up to 12 trades.*trades = 13"),
    (lambda: BasketGrid({"trades": 4}), "params must be a BasketSequenceParams"),
    (lambda: BasketGrid(P5).env_actions(np.array([0]), np.array([5])), r"actions must lie in 0\.\.4"),
    (lambda: BasketGrid(P5).env_actions(np.array([0]), np.array([0.0])), "action must be integers for the action space Discrete"),
    (lambda: DiscreteVectorEnv(BasketSequenceVectorEnv(num_envs=2), BasketGrid(P5)), "params differ"),
])
def test_invalid_grids_actions_and_envs_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()
