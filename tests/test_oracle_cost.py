"""Each problem's estimate of its oracle's build time (Problem.oracle_cost): exact state counts where it counts
them, and within a factor of 3 of the measured build time where the oracle builds quickly."""

import math
import time

import numpy as np
import pytest

from execgym.registry import PROBLEMS, problem
from execgym.problems.twap_vwap.reachable import estimated_counts, reachable_states

FACTOR = 3.0


@pytest.mark.parametrize("env_id", sorted(PROBLEMS))
def test_every_default_oracle_is_estimated_to_build_in_under_a_second(env_id):
    spec = problem(env_id)
    cost = spec.oracle_cost(spec.params())
    assert cost.refusal is None and 0 < cost.seconds < 1.0 and cost.size > 0


@pytest.mark.parametrize("kwargs", [{}, {"buckets": 5}, {"pov_rate": 0.3, "buckets": 8},
                                    {"volume_profiles": [[1.0] * 6, [3, 1, 1, 1, 1, 3]], "buckets": 6}])
def test_twap_vwap_counts_its_reachable_states_exactly_below_the_counting_budget(kwargs):
    params = problem("TwapVwapSwitch-v0").params(**kwargs)
    np.testing.assert_array_equal(estimated_counts(params), reachable_states(params).counts)


def test_twap_vwap_extrapolates_past_the_budget_close_to_the_true_count():
    params = problem("TwapVwapSwitch-v0").params(pov_rate=0.1)           # 393,795 states
    estimate = estimated_counts(params, counted=5_000)
    assert estimate.sum() == pytest.approx(reachable_states(params).total, rel=0.1)
    assert estimated_counts(problem("TwapVwapSwitch-v0").params(buckets=2_000)).sum() == math.inf


def test_past_the_sizes_an_oracle_accepts_the_estimate_says_it_refuses():
    assert "up to 16 trades" in problem("BasketSequence-v0").oracle_cost(
        problem("BasketSequence-v0").params(trades=17)).refusal
    assert problem("BasketSequence-v0").oracle_cost(
        problem("BasketSequence-v0").params(trades=40, heuristic=True)).refusal is None
    assert "more than 20,000,000" in problem("LimitOrMarket-v0").oracle_cost(
        problem("LimitOrMarket-v0").params(lots=1_000)).refusal
    assert "more than 20,000,000" in problem("MarketMaking-v0").oracle_cost(
        problem("MarketMaking-v0").params(steps=2_000, max_inventory=10_000)).refusal
    no_solver = problem("OptimalExec-v0").oracle_cost(problem("OptimalExec-v0").params(mean_reversion=2.0,
                                                                                         impact_exponent=0.5))
    assert math.isnan(no_solver.seconds) and str(no_solver).startswith("no exact oracle: ")


QUICK_BUILDS = [
    ("OptimalExec-v0", {"periods": 1_000}),
    ("OptimalExecMeanReverting-v0", {"periods": 500}),
    ("OptimalExecTransient-v0", {"periods": 1_000}),
    ("OptimalExecNonlinear-v0", {"periods": 60}),
    ("OptimalExecCapped-v0", {"periods": 400, "impact_profile": None, "trade_caps": (5e4,) * 400}),
    ("PortfolioExec-v0", {"periods": 390}),
    ("BasketSequence-v0", {"trades": 15}),
    ("BasketSequence-v0", {"trades": 16}),
    ("MarketMaking-v0", {}),
    ("MarketMaking-v0", {"steps": 500, "max_inventory": 100}),
    ("MarketMaking-v0", {"tick_size": 0.25}),
    ("TwapVwapSwitch-v0", {"buckets": 18}),
    ("TwapVwapSwitch-v0", {"buckets": 12, "pov_rate": 0.1}),
    ("LimitOrMarket-v0", {"lots": 200, "deadline": 20}),
    ("LimitOrMarket-v0", {"lots": 100, "deadline": 50}),
]


@pytest.mark.slow
@pytest.mark.parametrize("env_id, kwargs", QUICK_BUILDS, ids=[f"{e}-{'-'.join(k)}" for e, k in QUICK_BUILDS])
def test_the_estimate_is_within_a_factor_of_three_of_the_measured_build_time(env_id, kwargs):
    spec = problem(env_id)
    params = spec.params(**kwargs)
    spec.oracle_factory(params)                                    # compiled and cached functions warmed up
    measured = min(_cpu_seconds(spec.oracle_factory, params) for _ in range(3))
    estimated = spec.oracle_cost(params).seconds
    assert measured / FACTOR <= estimated <= measured * FACTOR, (measured, estimated)


def _cpu_seconds(function, argument) -> float:
    """CPU seconds of ``function(argument)``: what the estimate predicts, unlike wall time on a busy machine."""
    start = time.process_time()
    function(argument)
    return time.process_time() - start
