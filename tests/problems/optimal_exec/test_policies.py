"""Baseline schedules: their shapes, and that the env executes exactly the planned schedule."""

import numpy as np
import pytest

from execgym.problems.optimal_exec import policies
from execgym.problems.optimal_exec.env import OptimalExecEnv
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.registry import problem

P = OptimalExecParams(periods=10)


def trades(policy):
    return -np.diff(policy.schedule)


def test_twap_trades_equal_amounts():
    np.testing.assert_allclose(trades(policies.twap(P)), P.shares / 10)


def test_vwap_follows_the_profile_and_the_u_shape_is_high_at_both_ends():
    profile = policies.u_shaped_profile(10, open_close_ratio=3.0)
    assert profile.sum() == pytest.approx(1.0)
    assert profile[0] == pytest.approx(profile[-1]) and profile[0] > 2.5 * profile[4]
    np.testing.assert_allclose(trades(policies.vwap(P)), P.shares * profile)
    custom = np.arange(1.0, 11.0)
    np.testing.assert_allclose(trades(policies.vwap(P, profile=custom)), P.shares * custom / custom.sum())


def test_pov_trades_a_share_of_market_volume_then_the_rest():
    policy = policies.pov(P, participation=0.2, daily_volume=1e7)
    expected = 0.2 * 1e7 * policies.u_shaped_profile(10)
    n = trades(policy)
    done = np.cumsum(expected) <= P.shares
    assert 2 <= done.sum() < 10                                   # finishes early
    np.testing.assert_allclose(n[done], expected[done])
    assert n[done.sum()] == pytest.approx(P.shares - expected[done].sum())
    assert (n[done.sum() + 1:] == 0).all()
    assert n.sum() == pytest.approx(P.shares)
    slow = policies.pov(P, participation=0.01, daily_volume=1e7)   # cannot finish: the rest goes last
    assert trades(slow)[-1] == pytest.approx(P.shares - 0.01 * 1e7 * (1 - policies.u_shaped_profile(10)[-1]))


def test_front_and_back_loaded_are_linear_ramps():
    front, back = trades(policies.front_loaded(P)), trades(policies.back_loaded(P))
    np.testing.assert_allclose(front, P.shares * np.arange(10, 0, -1) / 55)
    np.testing.assert_allclose(back, front[::-1])


@pytest.mark.parametrize("name", sorted(policies.BASELINES))
def test_the_env_executes_each_baseline_schedule_exactly(name):
    policy = policies.make_baseline(name, P)
    env = OptimalExecEnv(params=P)
    obs, info = env.reset(seed=0)
    held = [info["inventory"]]
    done = False
    while not done:
        obs, _, done, _, info = env.step(policy(obs[None])[0])
        held.append(info["inventory"])
    np.testing.assert_allclose(np.array(held) / P.shares, policy.schedule / P.shares, atol=1e-6)


def test_bad_baseline_arguments_raise():
    with pytest.raises(ValueError, match="unknown baseline 'twapp'"):
        policies.make_baseline("twapp", P)
    with pytest.raises(ValueError, match=r"participation must be in \(0, 1\]"):
        policies.pov(P, participation=0.0)
    with pytest.raises(ValueError, match="profile must be 10 non-negative"):
        policies.vwap(P, profile=np.ones(3))


@pytest.mark.parametrize("env_id", ["PortfolioExec-v0", "BasketSequence-v0"])
def test_baselines_refuse_other_problems_clearly(env_id):
    with pytest.raises(ValueError, match="single-asset schedules for OptimalExec-v0 and its variants"):
        policies.make_baseline("twap", problem(env_id).params())
