"""OptimalExec with a user-supplied impact table: validation, interpolation, and its lot-grid oracle."""

import itertools

import numpy as np
import pytest

from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.oracle import make_oracle, oracle_solver
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_oracle import lot_grid_oracle

BASE = OptimalExecParams()


def linear_table(params, columns):
    """The table of the linear model: g_k(n) = η·n/τ at n = j·X/J."""
    sizes = np.arange(columns) * params.shares / (columns - 1)
    return tuple(tuple(params.temporary_impact * sizes / params.tau) for _ in range(params.periods))


def test_a_table_of_the_linear_model_reproduces_its_costs_and_its_optimum():
    p = OptimalExecParams(impact_table=linear_table(BASE, 11))
    trades = np.array([0.0, 1234.5, 0.1 * BASE.shares, 0.37 * BASE.shares, BASE.shares])
    for k in (0, 6, 12):
        np.testing.assert_allclose(dynamics.unit_costs(p, k, trades), dynamics.unit_costs(BASE, k, trades),
                                   rtol=1e-12)
    oracle = make_oracle(p)
    assert oracle_solver(p) == "lot_grid"
    lq = make_oracle(BASE).expected_return
    assert oracle.expected_return <= lq + 1e-9
    assert lq - oracle.expected_return < 4 * oracle.grid_refinement_gain + 1e-6


def test_interpolation_is_linear_between_columns():
    table = [[0.0, 0.01, 0.05]] * 2
    p = OptimalExecParams(periods=2, impact_table=table, half_spread=0.002)
    x = p.shares
    np.testing.assert_allclose(dynamics.unit_costs(p, np.array([0, 1, 1]), np.array([0.25 * x, 0.5 * x, 0.75 * x])),
                               [0.002 + 0.005, 0.002 + 0.01, 0.002 + 0.03], rtol=1e-12)


def test_lot_grid_oracle_with_a_concave_table_equals_enumeration_on_a_tiny_grid():
    """Fixed fee plus square-root impact (not convex): the DP's schedule is the best of every lot split."""
    periods, lots = 3, 6
    sizes = np.arange(lots + 1) / lots
    rows = [np.where(sizes > 0, 0.004, 0.0) + 0.02 * np.sqrt(sizes) * (1.0 + 0.3 * k) for k in range(periods)]
    p = OptimalExecParams(periods=periods, impact_table=rows, risk_aversion=2e-6)
    oracle = lot_grid_oracle(p, lots=lots)
    best = -np.inf
    for split in itertools.product(range(lots + 1), repeat=periods):
        if sum(split) == lots:
            holdings = p.shares * (1.0 - np.concatenate([[0.0], np.cumsum(split)]) / lots)
            holdings[-1] = 0.0
            best = max(best, float(schedule.expected_return(p, holdings)))
    assert oracle.expected_return == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"impact_table": [[0.0, 1.0]] * 12}, r"impact_table must have shape \(periods, J \+ 1\) = \(13, J \+ 1\)"),
    ({"impact_table": [[0.0]] * 13}, "J >= 1"),
    ({"impact_table": [[0.0, -1.0]] * 13}, r"impact_table\[0\]\[1\] must be in \[0, 100000\], got -1\.0"),
    ({"impact_table": [[0.0, 1.0]] * 13, "impact_exponent": 0.6}, "impact_table replaces impact_profile"),
    ({"impact_table": [[0.0, 1.0]] * 13, "two_way": True}, "impact_table cannot be combined with two_way"),
])
def test_invalid_tables_raise_naming_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OptimalExecParams(**kwargs)
