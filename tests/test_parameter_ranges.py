"""Every problem's documented parameter ranges, drawn out to their extreme ends: construction either refuses the
parameters with a ValueError, or the scalar and vector envs step with random valid actions to finite
observations and rewards, and the oracle and the baselines are built with finite values (or refuse with a
ValueError naming the reason)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from execgym.problems.basket_sequence.params import MAX_COST_BPS, NOTIONALS
from execgym.problems.limit_or_market.params import (MAX_DEPTH, MAX_FILL_DECAY, MAX_LOTS, MAX_MARKET_ORDERS,
                                                     TICK_BPS)
from execgym.problems.market_making.params import (ARRIVALS, DEPTH_DECAYS, DEPTHS, FILL_PROBABILITIES,
                                                   MAX_MOVE, MAX_PENALTY, MAX_PRICE, MAX_TICKS, OBJECTIVES,
                                                   PRICE_SHOCKS, RISK_AVERSIONS, TIMES, MarketMakingParams)
from execgym.problems.optimal_exec.params import (HORIZONS, IMPACT_MULTIPLIERS, MAX_RELATIVE_COST,
                                                  MAX_RELATIVE_PENALTY, MAX_REVERSION, TWO_WAY_TRADES,
                                                  MIN_RELATIVE_IMPACT, PRICE_SCALES, PRICES, SHARES, SIDES)
from execgym.problems.twap_vwap.params import (IMPACTS, MAX_RISK_AVERSION, MAX_VOLATILITY, ORDER_SIZES,
                                               VOLUMES)
from execgym.registry import problem

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def log_uniform(low: float, high: float):
    """Floats spread evenly over the decades of [low, high], its ends included."""
    decades = st.floats(math.log10(low), math.log10(high)).map(lambda e: min(max(10.0**e, low), high))
    return st.one_of(st.sampled_from([low, high]), decades)


def zero_or(strategy):
    return st.one_of(st.just(0.0), strategy)


def signed(strategy):
    return st.tuples(st.sampled_from([-1.0, 1.0]), strategy).map(lambda pair: pair[0] * pair[1])


def finite(values) -> bool:
    return bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())


def random_actions(space, masks, rng):
    """A random action of ``space`` allowed by ``masks`` (None: every action allowed), batched like the space."""
    if masks is None:
        space.seed(int(rng.integers(2**31)))
        return space.sample()
    chosen = np.array([rng.choice(np.flatnonzero(row)) for row in np.atleast_2d(masks)])
    return chosen if masks.ndim == 2 else int(chosen[0])


def assert_runs_finite(env_id: str, kwargs: dict, steps: int = 4) -> None:
    """The property of the module docstring for the parameters ``kwargs`` of ``env_id``."""
    spec = problem(env_id)
    try:
        params = spec.params(**kwargs)
    except ValueError as error:
        assert str(error)
        return
    rng = np.random.default_rng(0)
    for env in (spec.env_class(params), spec.vector_env_class(3, params)):
        observations, _ = env.reset(seed=1)
        assert finite(observations), observations
        for _ in range(steps):
            masks = env.action_masks() if hasattr(env, "action_masks") else None
            observations, rewards, terminated, _, _ = env.step(random_actions(env.action_space, masks, rng))
            assert finite(observations) and finite(rewards), (observations, rewards)
            if np.ndim(terminated) == 0 and terminated:      # the scalar env: the vector env autoresets
                observations, _ = env.reset()
                assert finite(observations), observations
    for build in (spec.oracle_factory, spec.baselines):
        try:
            built = build(params)
        except ValueError as error:
            assert str(error)
            continue
        for policy in (built.values() if isinstance(built, dict) else [built]):
            value = getattr(policy, "expected_return", None)
            assert value is None or finite(value), (policy, value)


@st.composite
def optimal_exec_kwargs(draw) -> dict:
    """OptimalExec-v0's fields across their ranges (relative bounds drawn as their dimensionless ratios), with
    one of the model variants."""
    shares, price, horizon = draw(log_uniform(*SHARES)), draw(log_uniform(*PRICES)), draw(log_uniform(*HORIZONS))
    periods = draw(st.integers(1, 4))
    kwargs = dict(
        shares=shares, side=draw(st.sampled_from(SIDES)), arrival_price=price, horizon=horizon, periods=periods,
        volatility=draw(log_uniform(*PRICE_SCALES)) * price / math.sqrt(horizon),
        permanent_impact=draw(zero_or(log_uniform(1e-12, MAX_RELATIVE_COST))) * price / shares,
        temporary_impact=draw(log_uniform(MIN_RELATIVE_IMPACT, MAX_RELATIVE_COST)) * price * horizon / shares,
        half_spread=draw(zero_or(log_uniform(1e-12, MAX_RELATIVE_COST))) * price,
        risk_aversion=draw(zero_or(log_uniform(1e-12, MAX_RELATIVE_PENALTY))) / (shares * price),
        drift=draw(zero_or(signed(log_uniform(1e-12, MAX_RELATIVE_COST)))) * price / horizon)
    variant = draw(st.sampled_from(["base", "profile", "exponent", "table", "caps", "smooth", "target", "two_way",
                                    "mean_reversion"]))
    per_period = st.lists(log_uniform(*IMPACT_MULTIPLIERS), min_size=periods, max_size=periods)
    penalty = log_uniform(1e-12, MAX_RELATIVE_PENALTY).map(lambda ratio: ratio * price / shares)
    if variant == "profile":
        kwargs["impact_profile"] = draw(per_period)
    elif variant == "exponent":
        kwargs["impact_exponent"] = draw(st.floats(0.5, 1.5))
    elif variant == "table":
        levels = draw(st.integers(2, 4))
        cost = zero_or(log_uniform(1e-12, MAX_RELATIVE_COST)).map(lambda ratio: ratio * price)
        row = st.lists(cost, min_size=levels, max_size=levels)
        kwargs["impact_table"] = draw(st.lists(row, min_size=periods, max_size=periods))
    elif variant == "caps":
        cap = st.one_of(st.just(math.inf), zero_or(log_uniform(*SHARES)))
        kwargs["trade_caps"] = draw(st.lists(cap, min_size=periods, max_size=periods))
    elif variant == "smooth":
        kwargs["smoothness"] = draw(penalty)
        kwargs["target_penalty"] = draw(st.one_of(st.none(), penalty))
    elif variant == "target":
        kwargs["target_penalty"] = draw(penalty)
    elif variant in ("two_way", "mean_reversion"):
        kwargs.update(two_way=draw(st.booleans()) or variant == "two_way",
                      max_trade=draw(log_uniform(*TWO_WAY_TRADES)), half_spread=0.0,
                      smoothness=draw(zero_or(penalty)), target_penalty=draw(st.one_of(st.none(), penalty)))
        if variant == "mean_reversion":
            kwargs.update(mean_reversion=draw(log_uniform(1e-6, MAX_REVERSION)), price_mean=draw(log_uniform(*PRICES)))
    return kwargs


@pytest.mark.slow
@PROPERTY
@given(optimal_exec_kwargs())
def test_optimal_exec_ranges(kwargs):
    assert_runs_finite("OptimalExec-v0", kwargs)


@st.composite
def portfolio_exec_kwargs(draw) -> dict:
    """PortfolioExec-v0's fields across their ranges: 1 to 3 assets with one-factor correlations and impacts
    (cross-impact c·ρ_ij·√(x_i x_j), as :meth:`PortfolioExecParams.from_market_data` builds them)."""
    m = draw(st.integers(1, 3))
    assets = st.lists
    position = signed(log_uniform(*SHARES))
    holdings = np.array([draw(position)] + draw(assets(zero_or(position), min_size=m - 1, max_size=m - 1)))
    prices = np.array(draw(assets(log_uniform(*PRICES), min_size=m, max_size=m)))
    horizon, periods = draw(log_uniform(*HORIZONS)), draw(st.integers(1, 4))
    largest = max(float(np.abs(holdings).max()), SHARES[0])
    loadings = np.array(draw(assets(st.floats(-1.0, 1.0), min_size=m, max_size=m)))
    correlation = np.outer(loadings, loadings)
    np.fill_diagonal(correlation, 1.0)

    def with_cross(diagonal):
        matrix = draw(st.floats(0.0, 0.99)) * correlation * np.sqrt(np.outer(diagonal, diagonal))
        np.fill_diagonal(matrix, diagonal)
        return matrix

    ratios = np.array(draw(assets(zero_or(log_uniform(*PRICE_SCALES)), min_size=m, max_size=m)))
    volatilities = ratios * prices / math.sqrt(horizon)
    eta = np.array(draw(assets(log_uniform(MIN_RELATIVE_IMPACT, MAX_RELATIVE_COST), min_size=m, max_size=m)))
    gamma = np.array(draw(assets(zero_or(log_uniform(1e-12, MAX_RELATIVE_COST)), min_size=m, max_size=m)))
    spreads = np.array(draw(assets(zero_or(log_uniform(1e-12, MAX_RELATIVE_COST)), min_size=m, max_size=m)))
    notional = float(np.abs(holdings) @ prices) or 1.0
    return dict(holdings=holdings, arrival_prices=prices, horizon=horizon, periods=periods,
                covariance=correlation * np.outer(volatilities, volatilities),
                temporary_impact=with_cross(eta * prices * horizon / largest),
                permanent_impact=with_cross(gamma * prices / largest), half_spreads=spreads * prices,
                risk_aversion=draw(zero_or(log_uniform(1e-12, MAX_RELATIVE_PENALTY))) / notional)


@PROPERTY
@given(portfolio_exec_kwargs())
def test_portfolio_exec_ranges(kwargs):
    assert_runs_finite("PortfolioExec-v0", kwargs)


@st.composite
def basket_sequence_kwargs(draw) -> dict:
    """BasketSequence-v0's fields across their ranges: the construction from drawn trades (one-factor
    correlations), or a user cost matrix."""
    n = draw(st.integers(2, 5))
    trades = st.lists
    cost = signed(log_uniform(1e-12, MAX_COST_BPS))
    kwargs = dict(trades=n, cost_noise=draw(zero_or(log_uniform(1e-12, MAX_COST_BPS))),
                  heuristic=draw(st.booleans()))
    if draw(st.booleans()):
        return dict(kwargs, cost_matrix=draw(trades(trades(cost, min_size=n, max_size=n), min_size=n, max_size=n)),
                    start_costs=draw(st.one_of(st.none(), trades(cost, min_size=n, max_size=n))))
    loadings = np.array(draw(trades(st.floats(-1.0, 1.0), min_size=n, max_size=n)))
    correlation = np.outer(loadings, loadings)
    np.fill_diagonal(correlation, 1.0)
    return dict(kwargs, notionals=draw(trades(log_uniform(*NOTIONALS), min_size=n, max_size=n)),
                sides=draw(trades(st.sampled_from([-1, 1]), min_size=n, max_size=n)), correlation=correlation,
                impact_bps=draw(trades(zero_or(log_uniform(1e-12, MAX_COST_BPS)), min_size=n, max_size=n)),
                cross_impact=draw(st.floats(0.0, 1.0)), hedge_credit=draw(st.floats(0.0, 1.0)))


@PROPERTY
@given(basket_sequence_kwargs())
def test_basket_sequence_ranges(kwargs):
    assert_runs_finite("BasketSequence-v0", kwargs)


@st.composite
def market_making_kwargs(draw) -> dict:
    """MarketMaking-v0's fields across their ranges (relative bounds drawn as their ratios), continuous or on
    ticks, either objective."""
    horizon, max_depth, max_inventory = draw(log_uniform(*TIMES)), draw(log_uniform(*DEPTHS)), draw(st.integers(1, 5))
    steps = draw(st.integers(1, 4))
    kwargs = dict(
        mid_price=draw(zero_or(signed(log_uniform(1e-12, MAX_PRICE)))), horizon=horizon, steps=steps,
        volatility=draw(zero_or(log_uniform(1e-12, MAX_MOVE))) / math.sqrt(horizon),
        drift=draw(zero_or(signed(log_uniform(1e-12, MAX_MOVE)))) / horizon,
        arrival_rate=draw(log_uniform(*ARRIVALS)) / horizon, max_depth=max_depth,
        depth_decay=draw(log_uniform(*DEPTH_DECAYS)) / max_depth, max_inventory=max_inventory,
        initial_inventory=draw(st.integers(-max_inventory, max_inventory)),
        inventory_penalty=draw(zero_or(log_uniform(1e-12, MAX_PENALTY))) / horizon,
        terminal_penalty=draw(zero_or(log_uniform(1e-12, MAX_PENALTY))),
        fill_probability=draw(st.sampled_from(FILL_PROBABILITIES)), price_shocks=draw(st.sampled_from(PRICE_SHOCKS)),
        objective=draw(st.sampled_from(OBJECTIVES)))
    if draw(st.booleans()):
        kwargs["tick_size"] = max_depth / draw(st.integers(1, MAX_TICKS))
    if kwargs["objective"] == "cara":
        kwargs["risk_aversion"] = draw(log_uniform(*RISK_AVERSIONS)) / max_depth
    return kwargs


def worst_utility_exponent(params: MarketMakingParams) -> float:
    """γ times the largest loss an episode can make: ±Q̄ held through every step's largest price move (|ξ| <= 8.3,
    the largest normal quantile of a 53-bit uniform; 1 for binomial shocks) with all penalties, no spread."""
    shock = 8.3 if params.price_shocks == "gaussian" else 1.0
    q, dt = params.max_inventory, params.dt
    move = abs(params.drift) * dt + shock * params.volatility * math.sqrt(dt)
    step = q * move + params.inventory_penalty * dt * q * q
    return params.risk_aversion * (params.steps * step + params.terminal_penalty * q * q)


@pytest.mark.slow
@PROPERTY
@given(market_making_kwargs())
def test_market_making_ranges(kwargs):
    try:
        assert_runs_finite("MarketMaking-v0", kwargs)
    except ValueError as error:   # the documented refusal of an episode whose utility leaves float64 ("cara")
        params = MarketMakingParams(**kwargs)
        assert "is below the most negative float64" in str(error) and params.objective == "cara", error
        assert worst_utility_exponent(params) > math.log(np.finfo(float).max), error


@st.composite
def limit_or_market_kwargs(draw) -> dict:
    """LimitOrMarket-v0's fields across their ranges (small orders and deadlines, the oracle being O(K·N²·A)),
    exponential fills or a table."""
    max_depth, move_probability = draw(st.integers(0, MAX_DEPTH)), draw(st.floats(0.0, 1.0))
    fractions = sorted(set(draw(st.lists(st.floats(0.0, 1.0, exclude_min=True), min_size=1,
                                         max_size=MAX_MARKET_ORDERS))))
    kwargs = dict(lots=draw(st.integers(1, 6)), deadline=draw(st.integers(1, 4)), max_depth=max_depth,
                  tick_bps=draw(log_uniform(*TICK_BPS)), spread_ticks=draw(st.integers(1, MAX_DEPTH)),
                  book_lots=draw(st.one_of(st.none(), st.integers(1, MAX_LOTS))), market_fractions=fractions,
                  move_probability=move_probability,
                  drift=draw(st.floats(-move_probability, move_probability)),
                  adverse_selection=draw(st.floats(0.0, 1.0)))
    top = 1.0 / (1.0 + kwargs["adverse_selection"])
    if draw(st.booleans()):
        table = sorted(draw(st.lists(st.floats(0.0, top), min_size=max_depth + 1, max_size=max_depth + 1)))
        return dict(kwargs, fill_probabilities=table[::-1])
    return dict(kwargs, touch_fill_probability=draw(st.floats(0.0, top)),
                fill_decay=draw(zero_or(log_uniform(1e-12, MAX_FILL_DECAY))))


@PROPERTY
@given(limit_or_market_kwargs())
def test_limit_or_market_ranges(kwargs):
    assert_runs_finite("LimitOrMarket-v0", kwargs)


@st.composite
def twap_vwap_kwargs(draw) -> dict:
    """TwapVwapSwitch-v0's fields across their ranges: 1 to 3 day types, with or without POV, the impact
    given or derived from the volumes."""
    buckets, days = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    row = st.lists(log_uniform(*VOLUMES), min_size=buckets, max_size=buckets)
    weights = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=days, max_size=days))) + 1e-3
    kwargs = dict(buckets=buckets, volume_profiles=draw(st.lists(row, min_size=days, max_size=days)),
                  day_probabilities=tuple(weights / weights.sum()),
                  volatility=draw(zero_or(log_uniform(1e-12, MAX_VOLATILITY))),
                  risk_aversion=draw(zero_or(log_uniform(1e-12, MAX_RISK_AVERSION))),
                  pov_rate=draw(st.one_of(st.none(), st.floats(0.0, 1.0, exclude_min=True))),
                  order_size=draw(log_uniform(*ORDER_SIZES)))
    if draw(st.booleans()):
        kwargs["impact"] = draw(st.lists(log_uniform(*IMPACTS), min_size=buckets, max_size=buckets))
    return kwargs


@PROPERTY
@given(twap_vwap_kwargs())
def test_twap_vwap_ranges(kwargs):
    assert_runs_finite("TwapVwapSwitch-v0", kwargs)
