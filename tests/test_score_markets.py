"""score(policy, env_id, markets=[...]): each market scored as alone (the same numbers, to the bit), and the
regret across markets."""

import numpy as np
import pytest

import execgym
from execgym.policy import ORACLE_CACHE
from execgym.registry import problem
from execgym.scoring import MarketsScoreResult, OracleUnavailable

EPISODES = 200
OPTIMAL_EXEC = [{}, {"volatility": 2.0, "risk_aversion": 1e-6}, {"smoothness": 1e-6, "periods": 20}]
LIMIT_OR_MARKET = [{}, {"deadline": 6}, {"touch_fill_probability": 0.5}]


def alone(policy, env_id, markets, **kwargs):
    ORACLE_CACHE.clear()                   # each market's oracle built alone, not by make_oracles
    return [execgym.score(policy, env_id, episodes=EPISODES, **market, **kwargs) for market in markets]


@pytest.mark.parametrize("env_id, markets, policy", [
    ("OptimalExec-v0", OPTIMAL_EXEC, "twap"),
    ("OptimalExec-v0", OPTIMAL_EXEC, "oracle"),
    ("OptimalExec-v0", OPTIMAL_EXEC, lambda obs: np.zeros((obs.shape[0], 1), dtype=np.float32)),
    ("LimitOrMarket-v0", LIMIT_OR_MARKET, "touch_then_market"),
])
def test_scoring_over_markets_equals_scoring_each_market_alone(env_id, markets, policy):
    ORACLE_CACHE.clear()                   # the markets' oracles built together
    result = execgym.score(policy, env_id, episodes=EPISODES, markets=markets)
    assert isinstance(result, MarketsScoreResult) and len(result) == len(markets)
    assert result.results == tuple(alone(policy, env_id, markets))       # every number, to the bit
    means = [r.regret_pct.mean for r in result.results]
    assert result.regret_pct.mean == pytest.approx(np.mean(means), rel=1e-12)
    assert result.worst == int(np.argmax(means))
    assert result.markets == tuple(problem(env_id).params(**market) for market in markets)


def test_params_objects_and_dicts_are_the_same_markets():
    spec = problem("OptimalExec-v0")
    objects = [spec.params(**market) for market in OPTIMAL_EXEC]
    assert (execgym.score("vwap", "OptimalExec-v0", episodes=EPISODES, markets=objects).results
            == execgym.score("vwap", "OptimalExec-v0", episodes=EPISODES, markets=OPTIMAL_EXEC).results)


@pytest.mark.parametrize("env_id, markets", [("OptimalExec-v0", OPTIMAL_EXEC), ("LimitOrMarket-v0", LIMIT_OR_MARKET),
                                             ("MarketMaking-v0", [{}, {"inventory_penalty": 0.01}])])
def test_the_oracle_has_no_regret_on_any_market(env_id, markets):
    result = execgym.score("oracle", env_id, episodes=EPISODES, markets=markets)
    assert all(r.regret.mean == 0.0 and r.regret.std == 0.0 for r in result.results)
    assert result.regret.mean == 0.0 and result.regret_pct.mean == 0.0


def test_a_variant_id_takes_dicts_over_its_defaults():
    result = execgym.score("twap", "OptimalExecCapped-v0", episodes=EPISODES, markets=[{}, {"volatility": 2.0}])
    assert result.markets[1] == problem("OptimalExecCapped-v0").params(volatility=2.0)
    assert result.results[1] == execgym.score("twap", "OptimalExecCapped-v0", episodes=EPISODES, volatility=2.0)


def test_markets_without_an_oracle_compare_with_a_reference():
    result = execgym.score("vwap", "OptimalExec-v0", episodes=EPISODES, markets=OPTIMAL_EXEC, reference="twap")
    assert all(r.reference == "twap" and r.oracle_return is None for r in result.results)
    assert result.results[2] == execgym.score("vwap", "OptimalExec-v0", episodes=EPISODES, reference="twap",
                                              **OPTIMAL_EXEC[2])


def test_the_summary_is_a_table_with_the_aggregate():
    result = execgym.score("twap", "OptimalExec-v0", episodes=EPISODES, markets=OPTIMAL_EXEC)
    text = str(result)
    assert text == result.summary()
    assert "3 markets" in text and "regret %" in text and "mean over markets" in text
    assert f"worst market: #{result.worst}" in text
    assert "volatility=2" in text.splitlines()[4]                   # the row of market 1 names what differs


def test_one_market_has_no_interval_across_markets():
    result = execgym.score("twap", "OptimalExec-v0", episodes=EPISODES, markets=[{}])
    assert result.results[0] == execgym.score("twap", "OptimalExec-v0", episodes=EPISODES)
    assert np.isnan(result.regret_pct.half_width) and "no interval" in str(result.regret_pct)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(markets=[]), ValueError, "at least one market"),
    (dict(markets={"volatility": 1.0}), TypeError, "markets must be a list"),
    (dict(markets=[{}, "calm"]), TypeError, r"markets\[1\] must be a OptimalExecParams or a dict"),
    (dict(markets=[{}, {"volatility": 0.0}]), ValueError, r"markets\[1\]: .*volatility"),
    (dict(markets=[{}, {"periods": 0}]), ValueError, r"markets\[1\]: periods"),
    (dict(markets=[{}], volatility=1.0), ValueError, r"markets= gives each market's parameters.*\['volatility'\]"),
    (dict(markets=[{}], params=problem("OptimalExec-v0").params()), ValueError, r"pass no params=.*\['params'\]"),
    (dict(markets=[{}, {"drift": 50.0}]), OracleUnavailable, r"markets\[1\]: OptimalExec-v0 has no oracle.*drift"),
    (dict(markets=[{}], episodes=1), ValueError, r"^episodes must be an integer >= 2"),
    (dict(markets=[{}], confidence=1.5), ValueError, r"^confidence must be in \(0, 1\)"),
])
def test_bad_markets_give_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        execgym.score("twap", "OptimalExec-v0", **{"episodes": EPISODES, **kwargs})


def test_a_too_slow_oracle_is_refused_naming_the_market():
    with pytest.raises(OracleUnavailable, match=r"markets\[1\]: .*max_oracle_seconds"):
        execgym.score("twap", "OptimalExec-v0", episodes=EPISODES, max_oracle_seconds=0.004,
                      markets=[{}, {"periods": 100}])
