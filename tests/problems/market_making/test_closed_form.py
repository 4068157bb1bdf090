"""The continuous-time closed form of risk-neutral market making (Guéant–Lehalle–Fernandez-Tapia; Cartea–Jaimungal):
equal to an independent ODE solve, finite where ω under- or overflows, and the limit of the DP oracle as dt → 0."""

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import eigh_tridiagonal, expm

from execgym.problems.market_making import closed_form, oracle
from execgym.problems.market_making.params import MarketMakingParams

# A market whose optimal depths stay inside (0, δ_max) at every (t, q) (checked below), so neither the closed
# form nor the DP is clipped; drift ≠ 0 checks the sign of μ.
MARKET = MarketMakingParams(max_inventory=5, depth_decay=1.0, arrival_rate=20.0, inventory_penalty=0.05,
                            terminal_penalty=0.05, drift=0.1, max_depth=5.0)
STEPS = (50, 100, 200, 400, 800, 1600)


def _log_omega_by_ode(params: MarketMakingParams, times: np.ndarray) -> np.ndarray:
    """ln ω at ``times`` from a DOP853 solve of dω/ds = M·ω in s = T − t, error control relative per entry."""
    generator = closed_form.generator(params)
    q = params.inventories
    start = np.exp(-params.depth_decay * params.terminal_penalty * q**2)
    s = params.horizon - times
    order = np.argsort(s)
    solution = solve_ivp(lambda _, w: generator @ w, (0.0, s.max()), start, method="DOP853", t_eval=s[order],
                         rtol=1e-13, atol=1e-300)
    assert solution.success
    out = np.empty((times.size, params.levels))
    out[order] = np.log(solution.y.T)
    return out


def test_terminal_quotes_and_values():
    p = replace(MARKET, terminal_penalty=0.3)
    bid, ask, values = closed_form.closed_form_quotes(p, [p.horizon])
    q, k, alpha = p.inventories, p.depth_decay, p.terminal_penalty
    np.testing.assert_allclose(values[0], -alpha * q**2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bid[0, :-1], 1 / k + alpha * (2 * q[:-1] + 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ask[0, 1:], 1 / k - alpha * (2 * q[1:] - 1), rtol=0, atol=1e-12)
    assert np.isnan(bid[0, -1]) and np.isnan(ask[0, 0])  # no bid at Q̄, no ask at −Q̄


@pytest.mark.parametrize("params", [
    MARKET,
    # The default market at Q̄ = 20: ω spans e^{−600}..1, where scipy.linalg.expm is off by ~1e−7 in ln ω.
    MarketMakingParams(max_inventory=20, drift=-0.3),
], ids=["small", "wide-range"])
def test_closed_form_equals_an_ode_solve(params):
    times = np.array([0.995, 0.0, 0.37, 0.9]) * params.horizon
    expected = _log_omega_by_ode(params, times)
    got = closed_form.log_omega(params, times)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    cf = closed_form.closed_form_quotes(params, times)
    np.testing.assert_allclose(cf.values, expected / params.depth_decay, rtol=0, atol=1e-10)
    k = params.depth_decay
    np.testing.assert_allclose(cf.bid[:, :-1], 1 / k + (expected[:, :-1] - expected[:, 1:]) / k, rtol=0, atol=1e-10)
    np.testing.assert_allclose(cf.ask[:, 1:], 1 / k + (expected[:, 1:] - expected[:, :-1]) / k, rtol=0, atol=1e-10)


def test_closed_form_equals_expm_where_omega_has_a_moderate_range():
    p = MARKET
    q = p.inventories
    start = np.exp(-p.depth_decay * p.terminal_penalty * q**2)
    for t in (0.0, 0.5, 0.99):
        propagator = expm(closed_form.generator(p) * (p.horizon - t))
        np.testing.assert_allclose(closed_form.log_omega(p, [t])[0], np.log(propagator @ start), rtol=0, atol=1e-12)
        # expm is accurate relative to its norm only (its smallest entries are not: see the ODE test).
        np.testing.assert_allclose(np.exp(closed_form.log_propagator(p, p.horizon - t)), propagator, rtol=1e-11,
                                   atol=1e-14 * propagator.max())


def test_no_overflow_for_the_default_market_and_long_horizons():
    """ω(T, ±50) = e^{−1875} underflows and over T = 100 ω grows like e^{(2A/e)·T} ≈ e^{10^4}: both stay finite
    in log space; with μ = 0 the quotes are mirror images, the bid rises and the ask falls with inventory, and
    far from T the quotes are those of the Perron eigenvector of M (ω(t) ∝ e^{λ(T−t)}·v)."""
    for p, times in ((MarketMakingParams(), None), (MarketMakingParams(horizon=100.0, steps=20_000), [0.0, 99.0])):
        bid, ask, values = closed_form.closed_form_quotes(p, times)
        assert np.all(np.isfinite(values)) and np.all(np.isfinite(bid[:, :-1])) and np.all(np.isfinite(ask[:, 1:]))
        np.testing.assert_allclose(bid[:, :-1], ask[:, :0:-1], rtol=0, atol=1e-9)
        assert np.all(np.diff(bid[:, :-1], axis=1) > 0) and np.all(np.diff(ask[:, 1:], axis=1) < 0)
    generator = closed_form.generator(p)
    _, vectors = eigh_tridiagonal(np.diag(generator), np.diag(generator, 1), select="i",
                                  select_range=(p.levels - 1, p.levels - 1))
    v = np.abs(vectors[:, 0])
    centre = slice(p.max_inventory - 10, p.max_inventory + 10)  # entries where eigh is accurate (v >= 1e-6·max)
    k = p.depth_decay
    np.testing.assert_allclose(bid[0, centre], 1 / k + np.log(v[centre] / v[1:][centre]) / k, rtol=0, atol=1e-7)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="risk-neutral objective"):
        closed_form.closed_form_quotes(replace(MARKET, objective="cara", risk_aversion=0.1))
    with pytest.raises(ValueError, match=r"times must lie in \[0, horizon\]"):
        closed_form.closed_form_quotes(MARKET, [0.0, 1.5])
    with pytest.raises(ValueError, match="non-empty 1-d"):
        closed_form.closed_form_quotes(MARKET, [])
    with pytest.raises(ValueError, match="max_inventory <= 500"):
        closed_form.closed_form_quotes(replace(MARKET, max_inventory=501), [0.0])


@lru_cache(maxsize=None)
def _errors(fill_probability: str):
    """(steps,) max |δ_DP − δ_CF| over quoted sides and (step, q), max |V_DP − V_CF| over (step, q), and the
    same for the Richardson extrapolation 2·X_{2N} − X_N on the coarser grid."""
    tables, forms = {}, {}
    for steps in STEPS:
        p = replace(MARKET, steps=steps, fill_probability=fill_probability)
        tables[steps], forms[steps] = oracle.solve(p), closed_form.closed_form_quotes(p)
    depth, value, depth_extrapolated, value_extrapolated = [], [], [], []

    def depth_error(bid, ask, cf):
        return max(np.abs(bid[:, :-1] - cf.bid[:-1, :-1]).max(), np.abs(ask[:, 1:] - cf.ask[:-1, 1:]).max())

    for steps in STEPS:
        table, cf = tables[steps], forms[steps]
        depth.append(depth_error(table.bid, table.ask, cf))
        value.append(np.abs(table.values - cf.values).max())
        if 2 * steps in tables:
            fine = tables[2 * steps]
            depth_extrapolated.append(depth_error(2 * fine.bid[::2] - table.bid, 2 * fine.ask[::2] - table.ask, cf))
            value_extrapolated.append(np.abs(2 * fine.values[::2] - table.values - cf.values).max())
    return tables, forms, np.array(depth), np.array(value), np.array(depth_extrapolated), np.array(value_extrapolated)


@pytest.mark.parametrize("fill_probability, depth_bound, value_bound", [("poisson", 1e-2, 5e-2),
                                                                         ("linear", 5e-3, 1e-2)])
def test_dp_converges_to_the_closed_form_at_rate_dt(fill_probability, depth_bound, value_bound):
    """The DP is a first-order scheme for the HJB equation: halving dt halves the error in the quotes and the
    values (fit slope ≈ 1 on log–log, successive ratios ≈ 2), and the Richardson extrapolation 2·X_{dt/2} − X_dt
    converges at rate dt², so the limit is the closed form itself."""
    tables, forms, depth, value, depth_extrapolated, value_extrapolated = _errors(fill_probability)
    for steps in STEPS:  # no clipping: the closed form and the DP quote strictly inside (0, δ_max)
        cf, table = forms[steps], tables[steps]
        assert np.nanmin(cf.bid) > 0.2 and np.nanmin(cf.ask) > 0.2
        assert np.nanmax(cf.bid) < MARKET.max_depth - 3 and np.nanmax(cf.ask) < MARKET.max_depth - 3
        assert table.bid[:, :-1].min() > 0 and table.ask[:, 1:].min() > 0
        assert table.bid[:, :-1].max() < MARKET.max_depth and table.ask[:, 1:].max() < MARKET.max_depth
    dt = MARKET.horizon / np.array(STEPS)
    for errors in (depth, value):
        slope = np.polyfit(np.log(dt), np.log(errors), 1)[0]
        assert 0.95 < slope < 1.05
        ratios = errors[:-1] / errors[1:]
        assert np.all((ratios > 1.8) & (ratios < 2.2))
    assert depth[-1] < depth_bound and value[-1] < value_bound
    for errors in (depth_extrapolated, value_extrapolated):
        ratios = errors[:-1] / errors[1:]
        assert np.all(ratios[1:] > 3.5) and np.all(ratios > 3.0)
    assert depth_extrapolated[-1] < 1e-4 and value_extrapolated[-1] < 2e-4
    # μ > 0: long inventory is worth more, so the bid is tighter than the ask at q = 0.
    centre = MARKET.max_inventory
    assert forms[STEPS[0]].bid[0, centre] < forms[STEPS[0]].ask[0, centre]
