"""The Avellaneda–Stoikov replication script: its core runs, and its numbers agree with exact values."""

import numpy as np
import pytest

from execgym.problems.market_making.policies import avellaneda_stoikov
from experiments.benchmarks import avellaneda_stoikov as bench

EPISODES = 2000


pytestmark = pytest.mark.slow     # the paper's tables, replicated: a benchmark more than a unit test

@pytest.fixture(scope="module")
def measurements():
    # measure() itself checks that the paper's rule with clipped depths replays the env episode by episode
    # and that neither δ_max nor Q̄ binds.
    return {(m.strategy.name, m.strategy.spread): m for m in bench.replication(EPISODES, seed=0, gammas=(0.1,))}


def symmetric_expected_profit(params, half_spread, stale=False):
    """2N·p(δ)·δ: each side fills with p = A·e^{−kδ}·dt per step and earns δ (the inventory term has mean 0);
    with stale quotes the fill sees the distance δ ∓ x to the moved mid, x = σ√dt, and earns δ ∓ x against it."""
    p = params.arrival_rate * np.exp(-params.depth_decay * half_spread) * params.dt
    if not stale:
        return 2 * params.steps * p * half_spread
    kx, x = params.depth_decay * params.volatility * np.sqrt(params.dt), params.volatility * np.sqrt(params.dt)
    return 2 * params.steps * p * (half_spread * np.cosh(kx) - x * np.sinh(kx))


def test_symmetric_profit_matches_its_exact_value(measurements):
    params = bench.paper_params()
    m = measurements["symmetric", "ψ"]
    half = 0.5 * 2 / 0.1 * np.log1p(0.1 / params.depth_decay)
    assert m.exact_profit == pytest.approx(symmetric_expected_profit(params, half), rel=1e-12)
    se = m.profit.std(ddof=1) / np.sqrt(EPISODES)
    assert abs(m.profit.mean() - m.exact_profit) < 4 * se
    stale = m.variants["clipped, stale"].profit
    expected = symmetric_expected_profit(params, half, stale=True)
    assert abs(stale.mean() - expected) < 4 * stale.std(ddof=1) / np.sqrt(EPISODES)


def test_inventory_strategy_matches_the_library_policy_and_its_exact_value(measurements):
    params = bench.paper_params()
    library = avellaneda_stoikov(params, 0.1)
    mine = bench.clipped_policy(params, *bench.avellaneda_stoikov_depths(params, 0.1, True))
    np.testing.assert_array_equal(mine.bid, library.bid)
    np.testing.assert_array_equal(mine.ask, library.ask)
    for spread in ("ψ", "ψ_t"):
        m = measurements["inventory", spread]
        assert abs(m.profit.mean() - m.exact_profit) < 4 * m.profit.std(ddof=1) / np.sqrt(EPISODES)
        assert 0.0 < m.variants["clipped"].negative_share < 0.05   # AS asks for negative depths at γ = 0.1
    # the time-dependent spread quotes wider on average and earns more than the constant one at γ = 0.1
    assert measurements["inventory", "ψ_t"].exact_profit > measurements["inventory", "ψ"].exact_profit


def test_tables_render(measurements):
    rows = list(measurements.values())
    table = bench.replication_table(rows)
    assert table.count("\n") == 1 + len(rows)
    assert "62.94" in table and "67.21" in table
    assert bench.leads_table(rows).count("\n") == 1 + len(rows)


def test_cara_check_orders_the_strategies():
    rows = bench.cara_check(gammas=(0.1,), max_inventory=20)   # Q̄ = 20 for speed: |q| stays below 13 at γ = 0.1
    assert len(rows) == len(bench.CARA_MODELS)
    for row in rows:
        assert row.optimum >= row.inventory_dependent >= row.symmetric
        assert row.optimum >= row.inventory_constant
        assert 0.0 < (row.optimum - row.inventory_dependent) / row.optimum < 0.1
    assert "DP optimum CE" in bench.cara_table(rows)
