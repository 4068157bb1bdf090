"""OptimalExecRegimes-v0's lot grid: its optimum approaches the oracle from below as the grid refines, its value is
what its policy earns in the env on every regime path, and the discrete envs wrap the real ones."""

import gymnasium as gym
import numpy as np
import pytest
from .test_regime_exec import SMALL, _seeds_of_paths
from vector_checks import expected_return_played

import execgym
from execgym.problems.regime_exec.grid import DiscreteRegimeExecEnv, DiscreteRegimeExecVectorEnv, RegimeLotGrid
from execgym.problems.regime_exec.params import RegimeExecParams
from execgym.tabular import tabular_view


def test_the_grid_optimum_approaches_the_oracle_from_below():
    """Default market: the grid's value is below the oracle's, by 3.1 % of it at 20 lots, 0.16 % at 80 and
    0.01 % at 320 (each at least 4 times closer than the last)."""
    oracle = execgym.make_oracle("OptimalExecRegimes-v0")
    gaps = [(oracle.expected_return - RegimeLotGrid(oracle.policy.params, lots).oracle().expected_return)
            / abs(oracle.expected_return) for lots in (20, 80, 320)]
    assert all(gap > 0 for gap in gaps) and gaps[0] > 4 * gaps[1] > 16 * gaps[2]
    assert gaps == pytest.approx([0.0313, 0.00160, 0.0000971], rel=0.02)


@pytest.mark.parametrize("kwargs", [dict(SMALL, periods=3), dict(SMALL, periods=3, side="buy", initial_regime=1)])
def test_the_grid_value_is_what_its_policy_earns_on_every_regime_path(kwargs):
    """Each regime path once (a seed each): the grid policy's expected rewards in the real env, weighted by the
    paths' probabilities, sum to the grid's value (to 1e-7: the env's actions are float32, which trade within
    about 10⁻⁸ of a whole lot)."""
    p = RegimeExecParams(**kwargs)
    grid = RegimeLotGrid(p, lots=7, max_trade_lots=5).oracle()
    T, total = p.transition_matrix, 0.0
    for path, seed in _seeds_of_paths(p).items():
        probability = np.prod([T[a, b] for a, b in zip(path, path[1:])])
        total += probability * expected_return_played(gym.make("OptimalExecRegimes-v0", params=p), grid.policy, seed)
    assert total == pytest.approx(grid.expected_return, rel=1e-7)


def test_the_discrete_envs_index_regimes_and_lots():
    """The scalar and vector discrete envs show k·R·(L+1) + r·(L+1) + q and trade whole lots; the registry builds
    the view."""
    env = DiscreteRegimeExecEnv(gym.make("OptimalExecRegimes-v0"), lots=10)
    state, info = env.reset(seed=0)
    assert state == info["regime"] * 11 + 10
    state, _, _, _, info = env.step(3)
    assert state == 1 * 22 + info["regime"] * 11 + 7 and info["shares_traded"] == pytest.approx(3e5)
    vector = DiscreteRegimeExecVectorEnv(gym.make_vec("OptimalExecRegimes-v0", num_envs=4), lots=10)
    states, _ = vector.reset(seed=0)
    assert (states % 11 == 10).all()
    assert isinstance(tabular_view("OptimalExecRegimes-v0"), RegimeLotGrid)
    with pytest.raises(ValueError, match="lots"):
        RegimeLotGrid(RegimeExecParams(), lots=0)
