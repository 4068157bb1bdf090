"""Oracles per market: the bounded cache behind make_oracle, and make_oracles, which solves OptimalExec's LQ
markets in one Riccati recursion vectorised over markets.

Equalities here are to the bit (``==`` and ``np.array_equal``) unless a test says otherwise: the vectorised
recursion against the generic solver (LAPACK/BLAS) :func:`solve_lq` holds to 1e-12 relative.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import execgym
from execgym.policy import ORACLE_CACHE, ORACLE_CACHE_SIZE, Oracle, OracleCache
from execgym.problems.optimal_exec.lq_oracle import lq_problem
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.registry import problem
from execgym.solvers.lq import LQProblem, solve_lq, solve_lq_batch

# LQ markets of several shapes (state size 2 and 3, N − 1 and N decisions, two-way), water-filling (caps) and a
# blended (risk-neutral soft target) one: make_oracles solves the first group together, the others one by one.
MARKETS = [
    {},
    {"volatility": 2.0, "risk_aversion": 1e-6},
    {"periods": 20, "side": "buy"},
    {"smoothness": 1e-6},
    {"smoothness": 2e-6, "volatility": 0.8},
    {"target_penalty": 1e-4, "drift": 0.3},
    {"mean_reversion": 2.0, "two_way": True, "half_spread": 0.0, "max_trade": 3.0},
    {"impact_profile": tuple(np.linspace(0.8, 1.2, 13))},
    {"trade_caps": (200_000.0,) * 13, "risk_aversion": 0.0},
    {"risk_aversion": 0.0, "target_penalty": 1e-4},
]


def same_oracle(a: Oracle, b: Oracle, observations: np.ndarray) -> None:
    """Every number of the two oracles, and their actions on ``observations``, equal to the bit."""
    assert type(a) is type(b)
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name == "policy":
            continue
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), field.name
        else:
            assert x == y, field.name
    assert np.array_equal(a.policy(observations), b.policy(observations))


def observations(params: OptimalExecParams, count: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    obs = np.column_stack([rng.integers(0, params.periods, count) / params.periods, rng.uniform(0, 1, count),
                           rng.normal(0, 0.3, count), rng.uniform(0, 0.2, count)])
    return obs[:, :params.observation_size].astype(np.float32)


def test_the_cache_returns_the_same_object_for_equal_params_and_another_for_different_params():
    spec = problem("OptimalExecCapped-v0")          # tuple fields: impact_profile, trade_caps
    first, again = spec.params(), spec.params()
    assert first is not again and first == again and hash(first) == hash(again)
    assert execgym.make_oracle("OptimalExecCapped-v0") is execgym.make_oracle("OptimalExecCapped-v0", params=again)
    assert execgym.make_oracle("OptimalExec-v0", volatility=1.0) is execgym.make_oracle("OptimalExec-v0",
                                                                                        volatility=1.0)
    assert execgym.make_oracle("OptimalExec-v0", volatility=1.0) is not execgym.make_oracle("OptimalExec-v0",
                                                                                            volatility=1.5)
    covariance = problem("PortfolioExec-v0").params().covariance       # a tuple of tuples
    assert execgym.make_oracle("PortfolioExec-v0", covariance=covariance) is execgym.make_oracle("PortfolioExec-v0")
    # An id and its variant with the same parameters share the oracle (the same factory and params).
    capped = spec.params()
    assert execgym.make_oracle("OptimalExec-v0", params=capped) is execgym.make_oracle("OptimalExecCapped-v0")


def test_a_cached_oracle_is_read_only():
    oracle = execgym.make_oracle("OptimalExec-v0")
    with pytest.raises(ValueError, match="read-only"):
        oracle.schedule[1] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        oracle.policy.gain[0, 0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        oracle.expected_return = 0.0


def test_the_cache_is_bounded_least_recently_used():
    cache = OracleCache(maxsize=2)
    built = []

    def factory(params):
        built.append(params)
        return execgym.make_oracle("OptimalExec-v0", params=params)

    a, b, c = (OptimalExecParams(volatility=v) for v in (1.0, 1.1, 1.2))
    first = cache.build(factory, a)
    cache.build(factory, b)
    assert cache.build(factory, a) is first                  # a is now the most recently used
    cache.build(factory, c)                                  # drops b
    cache.build(factory, b)
    assert built == [a, b, c, b] and cache.info().currsize == 2 and cache.info().hits == 1
    assert ORACLE_CACHE.maxsize == ORACLE_CACHE_SIZE == 1024
    with pytest.raises(ValueError, match="maxsize must be an integer >= 0"):
        OracleCache(maxsize=-1)


def test_make_oracles_equals_building_each_market_alone():
    spec = problem("OptimalExec-v0")
    markets = [spec.params(**market) for market in MARKETS]
    alone = [spec.oracle_factory(params) for params in markets]           # uncached, one by one
    ORACLE_CACHE.clear()
    together = execgym.make_oracles("OptimalExec-v0", MARKETS)
    assert ORACLE_CACHE.info().currsize == len(markets)
    for params, a, b in zip(markets, alone, together):
        same_oracle(a, b, observations(params))
        assert execgym.make_oracle("OptimalExec-v0", params=params) is b     # kept in the cache
    assert execgym.make_oracles("OptimalExec-v0", markets)[3] is together[3]


def test_make_oracles_of_an_env_without_a_joint_solver_builds_each_through_the_cache():
    markets = [{}, {"deadline": 6}]
    oracles = execgym.make_oracles("LimitOrMarket-v0", markets)
    assert [oracle.expected_return for oracle in oracles] == [
        problem("LimitOrMarket-v0").oracle_factory(problem("LimitOrMarket-v0").params(**m)).expected_return
        for m in markets]
    assert oracles[1] is execgym.make_oracle("LimitOrMarket-v0", deadline=6)


@pytest.mark.parametrize("markets, error, match", [
    ([], ValueError, "at least one market"),
    ({"volatility": 1.0}, TypeError, "markets must be a list"),
    ("OptimalExec-v0", TypeError, "markets must be a list"),
    ([{}, 3], TypeError, r"markets\[1\] must be a OptimalExecParams or a dict"),
    ([{}, {"volatility": -1.0}], ValueError, r"markets\[1\]: .*volatility"),
    ([{"colour": 1}], ValueError, r"markets\[0\]: unknown parameter\(s\) \['colour'\]"),
    ([{}, {}, {"drift": 50.0}], ValueError, r"markets\[2\]: drift=50 .* drift must lie in"),
    ([{"mean_reversion": 1.0, "trade_caps": (1e6,) * 13}], ValueError, r"markets\[0\]: no exact oracle"),
])
def test_make_oracles_refuses_bad_markets_naming_the_index(markets, error, match):
    with pytest.raises(error, match=match):
        execgym.make_oracles("OptimalExec-v0", markets)


def test_make_oracles_refuses_a_params_object_of_another_problem():
    with pytest.raises(TypeError, match=r"markets\[0\] must be a OptimalExecParams"):
        execgym.make_oracles("OptimalExec-v0", [problem("MarketMaking-v0").params()])


def relative_gap(x: np.ndarray, y: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(x))), 1e-300)
    return float(np.max(np.abs(x - y))) / scale


optimal_exec_markets = st.builds(
    dict,
    volatility=st.floats(0.2, 5.0), risk_aversion=st.floats(0.0, 1e-5), periods=st.integers(2, 30),
    drift=st.floats(-0.2, 0.2), smoothness=st.sampled_from([0.0, 1e-7, 1e-6]),
    target_penalty=st.sampled_from([None, 1e-5, 1e-3]), mean_reversion=st.sampled_from([0.0, 0.5, 3.0]),
    side=st.sampled_from(["sell", "buy"]))


@settings(max_examples=30, deadline=None)
@given(st.lists(optimal_exec_markets, min_size=1, max_size=6))
def test_the_vectorised_lq_recursion_equals_the_scalar_one(markets):
    """Random OptimalExec markets of one shape: the batch equals each market solved alone by the batch solver
    to the bit, and the generic solver solve_lq to 1e-12 relative (of each array's largest entry)."""
    shape = {key: markets[0][key] for key in ("periods", "smoothness", "target_penalty")}
    problems = [lq_problem(OptimalExecParams(**{**market, **shape})) for market in markets]
    together = solve_lq_batch(problems)
    for lq, joint in zip(problems, together):
        [alone] = solve_lq_batch([lq])
        scalar = solve_lq(lq)
        for name in ("gain", "offset", "P", "p", "z"):
            assert np.array_equal(getattr(joint, name), getattr(alone, name)), name
            assert relative_gap(getattr(joint, name), getattr(scalar, name)) <= 1e-12, name


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_the_vectorised_lq_recursion_solves_generic_single_control_problems(n, steps, count, seed):
    """Random time-varying single-control LQ problems (every coefficient given): as solve_lq to 1e-12."""
    rng = np.random.default_rng(seed)

    def random_problem() -> LQProblem:
        def psd(k):
            root = rng.normal(size=(k, k))
            return root @ root.T
        return LQProblem(A=rng.normal(size=(steps, n, n)), B=rng.normal(size=(steps, n, 1)),
                         Q=np.stack([psd(n) for _ in range(steps)]), R=rng.uniform(0.5, 2.0, (steps, 1, 1)),
                         Q_final=psd(n), steps=steps, M=0.1 * rng.normal(size=(steps, n, 1)),
                         q=rng.normal(size=(steps, n)), r=rng.normal(size=(steps, 1)), c=rng.normal(size=(steps, n)),
                         W=np.stack([psd(n) for _ in range(steps)]), q_final=rng.normal(size=n))

    problems = [random_problem() for _ in range(count)]
    for lq, joint in zip(problems, solve_lq_batch(problems)):
        scalar = solve_lq(lq)
        for name in ("gain", "offset", "P", "p", "z"):
            assert relative_gap(getattr(joint, name), getattr(scalar, name)) <= 1e-12, name


def test_solve_lq_batch_refuses_mixed_or_multi_control_problems():
    one = lq_problem(OptimalExecParams())
    with pytest.raises(ValueError, match="at least one"):
        solve_lq_batch([])
    with pytest.raises(ValueError, match=r"problems\[1\] has \(19, 2\)"):
        solve_lq_batch([one, lq_problem(OptimalExecParams(periods=20))])
    two = LQProblem(A=np.eye(2), B=np.eye(2), Q=np.eye(2), R=np.eye(2), Q_final=np.eye(2), steps=3)
    with pytest.raises(ValueError, match="m = 2: use solve_lq"):
        solve_lq_batch([two])
    concave = LQProblem(A=np.eye(1), B=np.eye(1), Q=np.eye(1), R=-np.eye(1) * 5, Q_final=np.eye(1), steps=2)
    with pytest.raises(ValueError, match="LQ problem 1 of the batch is not strictly convex"):
        solve_lq_batch([LQProblem(A=np.eye(1), B=np.eye(1), Q=np.eye(1), R=np.eye(1), Q_final=np.eye(1), steps=2),
                        concave])


def test_oracles_built_in_worker_processes_equal_those_built_here():
    markets = [{"touch_fill_probability": p} for p in (0.1, 0.2, 0.3)]
    ORACLE_CACHE.clear()
    here = execgym.make_oracles("LimitOrMarket-v0", markets, workers=1)
    ORACLE_CACHE.clear()
    forked = execgym.make_oracles("LimitOrMarket-v0", markets, workers=2)
    assert [a.expected_return for a in here] == [b.expected_return for b in forked]
    np.testing.assert_array_equal(here[2].policy(np.array([[1.0, 1.0], [0.5, 0.3]], dtype=np.float32)),
                                  forked[2].policy(np.array([[1.0, 1.0], [0.5, 0.3]], dtype=np.float32)))
    with pytest.raises(ValueError, match="workers must be None or an integer >= 1"):
        execgym.make_oracles("LimitOrMarket-v0", markets, workers=0)


def test_oracles_of_many_markets_price_their_schedules_as_the_schedule_module_does():
    """The batch computes E[IS], Var[IS] and the value elementwise over markets; the schedule module prices each
    market's optimal holdings alone (E[IS] through the env's own unit costs), and the objective U = E[IS] + λ·Var
    is minus the value in currency (random walk: the risk term is λ·Var[IS])."""
    from execgym.problems.optimal_exec import schedule

    train = execgym.market_set("OptimalExec-v0", "train")
    markets = [train[index] for index in range(0, 60_000, 1_500)]
    for params, oracle in zip(markets, execgym.make_oracles("OptimalExec-v0", markets)):
        shortfall = float(schedule.expected_shortfall(params, oracle.schedule))
        variance = float(schedule.variance(params, oracle.schedule))
        assert oracle.expected_shortfall == pytest.approx(shortfall, rel=1e-12)
        assert oracle.variance == pytest.approx(variance, rel=1e-12)
        objective = shortfall + params.risk_aversion * variance
        assert -oracle.expected_return / params.bps_per_currency == pytest.approx(objective, rel=1e-9)
