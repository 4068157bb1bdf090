"""Scoring on a set of markets: each market against its own optimum, the aggregates, the median market's oracle
and the best market-blind schedule."""

import functools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import execgym
from execgym.distributions import market_set
from execgym.problems.optimal_exec.blind import blind_fractions, schedule_regret_pct
from execgym.problems.optimal_exec.schedule import expected_return
from execgym.set_scoring import _interquartile_mean, _worst_decile


@functools.lru_cache(maxsize=1)
def _test_set():
    markets = list(market_set("OptimalExec-v0", "test"))
    optima = np.array([oracle.expected_return for oracle in execgym.make_oracles("OptimalExec-v0", markets)])
    return markets, optima


def test_each_markets_oracle_scores_zero_regret_exactly():
    result = execgym.score("oracle", "OptimalExec-v0", markets="ood", episodes_per_market=2)
    assert len(result.indices) == 256
    assert (result.regret_pct == 0.0).all() and result.mean.mean == 0.0 and result.worst_decile.mean == 0.0
    np.testing.assert_array_equal(result.policy_return, result.regret * 0 + result.policy_return)


def test_median_oracle_and_blind_schedule_never_beat_a_markets_optimum():
    markets, optima = _test_set()
    blind = blind_fractions(markets, optima)
    assert (schedule_regret_pct(markets, optima, blind) >= -1e-9).all()
    median = execgym.make_oracle("OptimalExec-v0", **execgym.registry.problem("OptimalExec-v0")
                                 .vector_env_class.problem.distribution.median())
    median_fractions = median.schedule / median.schedule[0]
    assert (schedule_regret_pct(markets, optima, median_fractions) >= -1e-9).all()
    # the blind schedule is the best of the set's static schedules; the median's is one of them
    assert schedule_regret_pct(markets, optima, blind).mean() <= schedule_regret_pct(
        markets, optima, median_fractions).mean()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-0.05, 0.05), min_size=13, max_size=13), st.integers(0, 2))
def test_no_other_blind_schedule_beats_the_best_blind_schedule(steps, kind):
    markets, optima = _test_set()
    blind = blind_fractions(markets, optima)
    if kind == 0:      # a perturbation of the blind schedule
        other = blind + np.concatenate([[0.0], steps[:12], [0.0]])
    elif kind == 1:    # a random non-increasing schedule
        trades = np.abs(steps) + 1e-3
        other = np.concatenate([[1.0], 1.0 - np.cumsum(trades) / trades.sum()])
        other[-1] = 0.0
    else:              # a power of the linear schedule: back-loaded to front-loaded
        other = np.linspace(1.0, 0.0, 14) ** (0.2 + 60.0 * abs(steps[0]))
    assert schedule_regret_pct(markets, optima, other).mean() >= schedule_regret_pct(markets, optima, blind).mean()


def test_blind_schedule_equals_a_numerical_minimisation_of_the_mean_regret():
    markets = [execgym.registry.problem("OptimalExec-v0").params(periods=5, risk_aversion=lam, volatility=vol)
               for lam, vol in ((1e-8, 1.0), (2e-6, 2.0), (5e-6, 0.5))]
    optima = np.array([execgym.make_oracle("OptimalExec-v0", params=p).expected_return for p in markets])

    def mean_regret(inner):
        fractions = np.concatenate([[1.0], inner, [0.0]])
        values = np.array([float(expected_return(p, p.shares * fractions)) for p in markets])
        return np.mean(100.0 * (optima - values) / np.abs(optima))

    found = minimize(mean_regret, np.linspace(1.0, 0.0, 6)[1:-1], method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(blind_fractions(markets, optima)[1:-1], found.x, atol=1e-6)
    assert mean_regret(blind_fractions(markets, optima)[1:-1]) <= found.fun + 1e-12


def test_a_static_schedule_scores_its_exact_regret_in_every_market():
    """OptimalExec reports each step's expected reward, which scoring sums: for a schedule that ignores prices
    those are the schedule's exact expected costs, so two episodes give each market's exact regret (up to the
    float32 actions' rounding of the trades, about 1e-7 of the order)."""
    markets, optima = _test_set()
    exact = schedule_regret_pct(markets, optima, blind_fractions(markets, optima))
    result = execgym.score("blind", "OptimalExec-v0", markets="test", episodes_per_market=2, seed=3)
    np.testing.assert_allclose(result.regret_pct, exact, rtol=0, atol=1e-5)
    assert result.mean.mean == pytest.approx(exact.mean(), abs=1e-6)
    assert result.regret_pct_half_width.max() < 1e-9


def test_blind_schedule_refuses_markets_it_is_not_exact_for():
    with pytest.raises(ValueError, match="exact for the Almgren–Chriss random walk without drift only"):
        execgym.score("blind", "OptimalExec-v0", markets=execgym.market_set("OptimalExec-v0", [{}, {"drift": 0.1}]),
                      episodes_per_market=2)
    with pytest.raises(ValueError, match="has no exact best market-blind policy"):
        execgym.score("blind", "LimitOrMarket-v0", markets=execgym.market_set("LimitOrMarket-v0", [{}]),
                      episodes_per_market=2)


def test_the_median_market_takes_the_sets_own_parameters():
    with_set = execgym.score("median_oracle", "OptimalExec-v0", episodes_per_market=2,
                             markets=execgym.market_set("OptimalExec-v0", "ood", risk_aversion=1e-9))
    with_keywords = execgym.score("median_oracle", "OptimalExec-v0", markets="ood", episodes_per_market=2,
                                  risk_aversion=1e-9)
    np.testing.assert_array_equal(with_set.regret_pct, with_keywords.regret_pct)


def test_aggregates_by_hand():
    values = np.arange(20.0)
    assert _interquartile_mean(values) == pytest.approx(np.mean(values[5:15]))
    assert _worst_decile(values) == pytest.approx(18.5)
    assert _worst_decile(np.arange(5.0)) == 4.0


def test_an_agent_sees_the_features_and_the_baselines_their_own_observation(tmp_path):
    seen = []

    def agent(observations):
        seen.append(observations.shape[1])
        return np.zeros((observations.shape[0], 1), dtype=np.float32)

    result = execgym.score(agent, "OptimalExec-v0", markets="ood", episodes_per_market=2)
    assert set(seen) == {3 + 7}
    blind_seen = []
    execgym.score(lambda o: blind_seen.append(o.shape[1]) or np.zeros((len(o), 1)), "OptimalExec-v0",
                  markets="ood", episodes_per_market=2, observe_market=False)
    assert set(blind_seen) == {3}
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert '"set": "ood"' in text and len(result.to_dict()["markets"]) == 256
    assert result.plot(tmp_path / "regret.png").stat().st_size > 10_000
    assert "256 markets (ood)" in result.summary()


@pytest.mark.parametrize("kwargs, message", [
    (dict(markets="tomorrow"), r"unknown split 'tomorrow'"),
    (dict(markets="test", episodes_per_market=1), r"episodes_per_market must be an integer >= 2"),
    (dict(markets="test", policy="nope"), r"unknown policy name 'nope' .* \['blind', 'median_oracle', 'oracle'\]"),
    (dict(markets=[{}], episodes_per_market=4), r"episodes_per_market= and observe_market= apply to a set"),
    (dict(markets="test", episodes=100), r"\['episodes'\] apply to one market or a list of markets"),
    (dict(markets="test", reference="vwap"), r"\['reference'\] apply to one market"),
    (dict(markets=execgym.market_set("OptimalExec-v0", "test"), risk_aversion=1e-9),
     r"a MarketSet holds its markets' parameters"),
])
def test_bad_set_scoring_input_gets_clear_errors(kwargs, message):
    policy = kwargs.pop("policy", "twap")
    with pytest.raises(ValueError, match=message):
        execgym.score(policy, "OptimalExec-v0", **kwargs)
