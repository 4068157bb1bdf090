"""score(): paired regret against the exact optimum with confidence intervals."""

import numpy as np
import pytest

import execgym
from execgym.problems.optimal_exec import policies
from execgym.problems.optimal_exec import schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.scoring import Estimate


def test_twap_regret_matches_its_exact_regret_within_the_paired_interval():
    p = OptimalExecParams()
    twap = policies.twap(p)
    result = execgym.score(twap, "OptimalExec-v0", episodes=20_000, seed=3)
    oracle = execgym.make_oracle("OptimalExec-v0")
    exact = oracle.expected_return - schedule.expected_return(p, twap.schedule)
    assert exact > 0
    assert result.regret.low <= exact <= result.regret.high
    assert result.regret_pct.mean == pytest.approx(100 * result.regret.mean / abs(oracle.expected_return))
    # Pairing: the regret's interval is much narrower than the return's.
    assert result.regret.half_width < 0.5 * result.policy_return.half_width
    # E[IS] of TWAP in currency, from the terminal infos.
    shortfall = result.info["shortfall"]
    assert shortfall.low <= schedule.expected_shortfall(p, twap.schedule) <= shortfall.high


def test_same_seed_same_score_and_other_seed_other_sample():
    policy = policies.front_loaded(OptimalExecParams())
    a = execgym.score(policy, episodes=500, seed=10)
    b = execgym.score(policy, episodes=500, seed=10)
    c = execgym.score(policy, episodes=500, seed=11)
    assert a == b
    assert a.policy_return.mean != c.policy_return.mean


def test_a_plain_function_is_a_policy_and_chunks_cover_every_episode(monkeypatch):
    monkeypatch.setattr("execgym.scoring.MAX_BATCH", 7)
    always_half = lambda obs: np.zeros((obs.shape[0], 1))  # noqa: E731
    chunked = execgym.score(always_half, episodes=50, seed=2, periods=4)
    monkeypatch.setattr("execgym.scoring.MAX_BATCH", 65_536)
    whole = execgym.score(always_half, episodes=50, seed=2, periods=4)
    assert chunked.policy_return == whole.policy_return


def test_estimate_uses_student_t():
    estimate = Estimate.of(np.array([1.0, 2.0, 3.0]))
    assert estimate.mean == 2.0 and estimate.std == 1.0
    assert estimate.half_width == pytest.approx(4.302652729911275 / np.sqrt(3))


def test_an_estimate_of_one_value_has_no_interval_and_says_so():
    alone = Estimate.of(np.array([2.5]))
    assert alone.mean == 2.5 and np.isnan(alone.half_width) and np.isnan(alone.std)
    assert str(alone) == "2.5 (one value: no interval)"
    assert str(Estimate.of(np.array([1.0, 2.0, 3.0]))) == "2 ± 2.5"


@pytest.mark.parametrize("kwargs, message", [
    (dict(episodes=1), "episodes must be an integer >= 2"),
    (dict(confidence=1.5), r"confidence must be in \(0, 1\)"),
    (dict(env_id="CartPole-v1"), "unknown env id"),
    (dict(shares=-5.0), "shares must be in"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        execgym.score(lambda obs: np.zeros((len(obs), 1)), **kwargs)


def test_an_oracle_sample_far_from_its_exact_value_is_flagged():
    """Under "cara" at γ = 0.3 E[u] = −1.2e124 (exact: tests/problems/market_making/test_utility.py) is set by
    episodes too rare for any sample, where every sampled utility is near +3.3: the paired regret of such a
    sample cannot be the regret in expectation, and the result says so."""
    with pytest.warns(UserWarning, match="dominated by episodes too rare"):
        result = execgym.score("symmetric", "MarketMaking-v0", episodes=2000, objective="cara", risk_aversion=0.3)
    assert result.oracle_return < -1e120 and abs(result.reference_return.mean) < 10
    assert "warning: the oracle's mean return on these 2,000 episodes" in result.summary()


def test_no_warning_where_the_sample_estimates_the_exact_value(recwarn):
    result = execgym.score("twap", "OptimalExec-v0", episodes=2000)
    assert result.warning == "" and "warning" not in result.summary()
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_sample_warning_counts_standard_errors_and_allows_rounding_of_constant_returns():
    from execgym.scoring import sample_warning
    returns = np.array([0.0, 2.0] * 50)                 # mean 1, standard error 0.1005
    assert sample_warning(1.4, returns) == ""          # 3.98 standard errors
    assert "5.97 standard errors" in sample_warning(1.6, returns)
    assert sample_warning(2.0 * (1 + 1e-12), np.full(10, 2.0)) == ""
    assert "beyond rounding" in sample_warning(2.1, np.full(10, 2.0))
