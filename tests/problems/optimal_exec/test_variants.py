"""The model variants of OptimalExec (impact profile, power-law impact, impact table, trade caps, smoothness, soft
target, two-way trading under mean reversion): validation, trade ranges, the exact cost of a schedule against
Monte Carlo, every oracle against brute force and against the closed forms it must reduce to, and nothing
(random or perturbed schedules, exactly and in paired Monte Carlo) beating any of them."""

import itertools
import warnings
from dataclasses import replace

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import event, given, settings, strategies as st
from scipy.optimize import minimize
from vector_checks import assert_equals_sync_vector_env

import execgym
from execgym import engine
from execgym.problems.optimal_exec import policies
from execgym.problems.optimal_exec import closed_form, dynamics, schedule
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.lq_oracle import make_lq_oracle
from execgym.problems.optimal_exec.oracle import make_oracle, oracle_solver
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.problems.optimal_exec.schedule_oracle import blended_oracle, lot_grid_oracle, water_filling_oracle
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy
from execgym.problems.optimal_exec.variants import intraday_volume
from execgym.solvers.schedule_dp import CAP_ROUNDING

INF = float("inf")
BASE = OptimalExecParams()
X = BASE.shares
VOLUME = intraday_volume()
PROFILE = tuple(float(w) for w in 1.0 / np.sqrt(BASE.periods * VOLUME))   # thin midday periods cost more
CAPS = tuple(float(u) for u in np.round(0.12e7 * VOLUME, -3))    # 12 % of volume, whole 1,000-share lots: Σ = 1.2 X


def power_table(periods, exponent, columns=20, profile=None):
    """An impact table g_k(j) = w_k·η·v̄·(n_j/(τ v̄))^exponent at n_j = j·X/J: the power law sampled on J + 1 sizes."""
    p = replace(BASE, periods=periods)
    weights = np.ones(periods) if profile is None else np.asarray(profile)
    sizes = np.arange(columns + 1) * X / columns
    rate = p.average_rate
    return tuple(tuple(float(v) for v in w * p.temporary_impact * rate * (sizes / (p.tau * rate)) ** exponent)
                 for w in weights)


# Every variant with an exact oracle, and the solver that must serve it.
ORACLE_CASES = {
    "profile": (OptimalExecParams(impact_profile=PROFILE, drift=0.3), "lq"),
    "water_filling": (OptimalExecParams(impact_profile=PROFILE, trade_caps=CAPS, risk_aversion=0.0, drift=-0.2,
                                        side="buy"), "water_filling"),
    "blended": (OptimalExecParams(impact_profile=PROFILE, trade_caps=CAPS, risk_aversion=0.0, smoothness=1e-6,
                                  target_penalty=1e-5), "blended"),
    "alpha_0.5": (OptimalExecParams(impact_exponent=0.5, impact_profile=PROFILE), "lot_grid"),
    "alpha_1.5": (OptimalExecParams(impact_exponent=1.5, trade_caps=CAPS, drift=0.2), "lot_grid"),
    "caps_risk_averse": (OptimalExecParams(trade_caps=CAPS, side="buy"), "lot_grid"),
    "table": (OptimalExecParams(impact_table=power_table(13, 1.3, profile=PROFILE)), "lot_grid"),
    "smoothness": (OptimalExecParams(smoothness=1e-5, impact_profile=PROFILE), "lq"),
    "soft_target": (OptimalExecParams(target_penalty=1e-6, drift=0.2), "lq"),
    "mean_reversion": (OptimalExecParams(mean_reversion=2.0, two_way=True, half_spread=0.0), "lq"),
}
GRID = {"alpha_0.5", "alpha_1.5", "caps_risk_averse", "table"}
_ORACLES = {}


def oracle_of(name):
    """The variant's oracle, built once per session (they are immutable)."""
    if name not in _ORACLES:
        _ORACLES[name] = make_oracle(ORACLE_CASES[name][0])
    return _ORACLES[name]


# ------------------------------------------------------------------------------------------------ helpers


def executed_holdings(p, planned):
    """Holdings (count, N + 1) of the planned trades (count, N) as the env executes them: each clipped to its
    period's trade range, so the last period finishes the order when it must complete."""
    planned = np.atleast_2d(np.asarray(planned, dtype=np.float64))
    x = np.full(planned.shape[0], p.shares)
    out = [x]
    for k in range(p.periods):
        lo, hi = dynamics.trade_range(p, np.full(x.shape, k), x)
        x = x - np.clip(planned[:, k], lo, hi)
        out.append(x)
    return np.stack(out, axis=1)


def random_holdings(rng, p, count):
    """Random feasible schedules: each period trades at a random position f of its trade range (f skewed by a
    random power; near the middle, i.e. small trades, for two-way trading)."""
    x = np.full(count, p.shares)
    out = [x]
    power = rng.uniform(0.3, 3.0, size=(count, 1))
    fractions = rng.uniform(size=(count, p.periods)) ** power
    if p.two_way:
        fractions = 0.5 + 0.15 * (fractions - 0.3)
    for k in range(p.periods):
        lo, hi = dynamics.trade_range(p, np.full(count, k), x)
        x = x - (lo + fractions[:, k] * (hi - lo))
        out.append(x)
    return np.stack(out, axis=1)


def perturbed_holdings(rng, p, holdings, count, scale):
    """Feasible schedules near ``holdings``: every trade moved by scale·X/N·normal noise, then executed."""
    trades = -np.diff(holdings)
    return executed_holdings(p, trades + rng.normal(size=(count, p.periods)) * scale * p.shares / p.periods)


def grid_caps(p, lots):
    """The caps in whole lots, as the lot-grid oracle rounds them."""
    return np.floor(np.minimum(p.caps / (p.shares / lots) + CAP_ROUNDING, lots)).astype(np.int64)


def lot_splits(p, lots):
    """Every split (count, N) of ``lots`` lots over the N periods within the caps (in whole lots)."""
    caps = grid_caps(p, lots)
    splits = [s for s in itertools.product(*(range(min(c, lots) + 1) for c in caps[:-1]))
              if 0 <= lots - sum(s) <= caps[-1]]
    return np.array([s + (lots - sum(s),) for s in splits])


def holdings_of_lots(p, lot_trades, lots):
    """Holdings (count, N + 1) of trades given in lots."""
    lot_trades = np.atleast_2d(lot_trades)
    holdings = p.shares * (1.0 - np.concatenate([np.zeros((lot_trades.shape[0], 1)),
                                                 np.cumsum(lot_trades, axis=1)], axis=1) / lots)
    holdings[:, -1] = 0.0
    return holdings


def one_lot_moves(p, lot_trades, lots, sizes=(1, 2, 5)):
    """Every schedule one transfer of ``sizes`` lots away from ``lot_trades`` (N,), within the caps."""
    caps = grid_caps(p, lots)
    moves = []
    for i, j in itertools.permutations(range(p.periods), 2):
        for size in sizes:
            moved = lot_trades.copy()
            moved[i] -= size
            moved[j] += size
            if moved[i] >= 0 and moved[j] <= caps[j]:
                moves.append(moved)
    return np.array(moves, dtype=np.int64).reshape(-1, p.periods)


def random_lot_schedules(rng, p, lots, count):
    """Random splits of ``lots`` lots within the caps: each period a random position in its range, in lots."""
    caps = grid_caps(p, lots)
    later = np.append(np.cumsum(caps[::-1])[::-1][1:], 0)
    left = np.full(count, lots)
    trades = np.zeros((count, p.periods), dtype=np.int64)
    power = rng.uniform(0.3, 3.0, size=count)
    for k in range(p.periods):
        lo = np.maximum(left - later[k], 0)
        hi = np.minimum(left, caps[k])
        trades[:, k] = lo + np.floor(rng.uniform(size=count) ** power * (hi - lo + 1)).clip(0, hi - lo)
        left = left - trades[:, k]
    return trades


def fractions_of(p, holdings):
    """The positions f (N,) in each period's trade range that execute the deterministic ``holdings``."""
    trades = -np.diff(holdings)
    fractions = np.zeros(p.periods)
    for k in range(p.periods):
        lo, hi = dynamics.trade_range(p, np.array([k]), np.array([holdings[k]]))
        width = hi[0] - lo[0]
        fractions[k] = (trades[k] - lo[0]) / width if width > 0 else 0.0
    assert ((fractions >= -1e-12) & (fractions <= 1 + 1e-12)).all()
    return np.clip(fractions, 0.0, 1.0)


def play_schedule(p, holdings, episodes, seed=0):
    """Σ reward of ``episodes`` episodes following ``holdings`` through the dynamics (float64 fractions), and the
    part of it due to the price shocks, s·σ_τ·Σ_k ξ_k·x_k (bps): zero mean, the only randomness under the walk."""
    fractions = fractions_of(p, holdings)
    batch = engine.start(dynamics.DYNAMICS, p, seed + np.arange(episodes), np.zeros(episodes))
    total, noise = np.zeros(episodes), np.zeros(episodes)
    for k in range(p.periods):
        shocks = dynamics.price_shocks(None, batch.key, batch.state.elapsed)
        transition = engine.step(dynamics.DYNAMICS, p, batch, np.full(episodes, fractions[k]))
        total += transition.reward
        noise += p.side_sign * p.shock_scale * shocks * transition.batch.state.inventory * p.bps_per_currency
        batch = transition.batch
    np.testing.assert_allclose(batch.state.inventory, holdings[-1], rtol=0, atol=1e-6 * p.shares)
    return total, noise


def run_policy(p, policy, episodes, seed=0):
    """Run ``policy`` in the vector env for one episode per slot: per-step trades (episodes, N), the holdings after
    each step (episodes, N + 1) and the returns (episodes,)."""
    env = OptimalExecVectorEnv(num_envs=episodes, params=p)
    obs, info = env.reset(seed=seed)
    trades, holdings, returns = [], [info["inventory"]], np.zeros(episodes)
    for k in range(p.periods):
        obs, reward, terminated, _, info = env.step(policy(obs))
        returns += reward
        step_info = info["final_info"] if terminated.all() else info
        assert terminated.all() == (k == p.periods - 1)
        trades.append(step_info["shares_traded"])
        holdings.append(step_info["inventory"])
    return np.stack(trades, axis=1), np.stack(holdings, axis=1), returns


def slsqp_best(p, starts):
    """The best of SLSQP runs from ``starts`` (fractions of X per period) minimising −E[Σ reward] over one-way
    trades 0 <= n_k <= u_k with Σn = X (or Σn <= X with a soft target): (value in bps, trades)."""
    def cost(z):
        holdings = p.shares * (1.0 - np.concatenate([[0.0], np.cumsum(z)]))
        if p.completes:
            holdings[-1] = 0.0
        return -float(schedule.expected_return(p, holdings))

    constraint = ({"type": "eq", "fun": lambda z: z.sum() - 1.0} if p.completes
                  else {"type": "ineq", "fun": lambda z: 1.0 - np.cumsum(z)})
    bounds = [(0.0, min(u / p.shares, 1.0)) for u in p.caps]
    best = min((minimize(cost, np.asarray(z0, dtype=np.float64), method="SLSQP", bounds=bounds,
                         constraints=[constraint], options={"ftol": 1e-15, "maxiter": 1000}) for z0 in starts),
               key=lambda r: r.fun)
    return -best.fun, best.x * p.shares


# ------------------------------------------------------------------------------------------------ 1. validation


@pytest.mark.parametrize("kwargs, message", [
    ({"trade_caps": (5e4,) * 13}, r"trade_caps are infeasible: they sum to 650000 shares, fewer than shares = 1e\+06"),
    ({"trade_caps": (1e5,) * 12 + (-1.0,)}, r"trade_caps\[12\] must be in \[0, 1e\+12\] or \+inf, got -1\.0"),
    ({"trade_caps": (1e5,) * 12}, r"trade_caps must have one entry per period \(13\), got 12"),
    ({"trade_caps": (INF,) * 12 + (-INF,)}, r"trade_caps\[12\] must be in \[0, 1e\+12\] or \+inf, got -inf"),
    ({"trade_caps": (1e5, 2e5, 7e5, INF), "periods": 4, "two_way": True}, "trade_caps cannot be combined with two_way"),
    ({"impact_exponent": 0.4}, r"impact_exponent must be in \[0.5, 1.5\], got 0.4"),
    ({"impact_exponent": 1.6}, r"impact_exponent must be in \[0.5, 1.5\], got 1.6"),
    ({"impact_profile": (1.0,) * 5 + (-0.5,) + (1.0,) * 7},
     r"impact_profile\[5\] must be in \[1e-06, 1e\+06\], got -0\.5"),
    ({"impact_profile": (1.0,) * 3 + (0.0,) + (1.0,) * 9},
     r"impact_profile\[3\] must be in \[1e-06, 1e\+06\], got 0\.0"),
    ({"impact_profile": (1.0,) * 14}, r"impact_profile must have one entry per period \(13\), got 14"),
    ({"impact_profile": (1.0,) * 12 + (INF,)}, r"impact_profile\[12\] must be in \[1e-06, 1e\+06\], got inf"),
    ({"impact_profile": (1.0,) * 6 + (1e-3,) + (1.0,) * 6},
     r"impact_profile\[6\] makes period 6's temporary impact 2e-10 <= permanent_impact \* tau / 2"),
    ({"smoothness": -1e-9},
     r"smoothness must be in \[0, 1e\+08\] \(smoothness·shares/arrival_price in \[0, 1e\+12\]\)"),
    ({"target_penalty": 0.99e-8}, r"target_penalty must be in \[1e-08, 1e\+08\] \(at least permanent_impact/2"),
    ({"target_penalty": -1.0}, "target_penalty must be in"),
    ({"max_trade": 0.0}, r"max_trade must be in \[1e-06, 1000\], got 0\.0"),
    ({"two_way": 1}, "two_way must be True or False"),
    ({"impact_table": ((0.0, 1.0),) * 12}, r"impact_table must have shape \(periods, J \+ 1\) = \(13, J \+ 1\)"),
    ({"impact_table": ((0.0, 1.0),) * 12 + ((0.0, -1.0),)},
     r"impact_table\[12\]\[1\] must be in \[0, 100000\], got -1\.0"),
    ({"impact_table": ((0.0, 1.0),) * 13, "impact_exponent": 0.5}, "impact_table replaces impact_profile"),
    ({"impact_table": ((0.0, 1.0),) * 13, "two_way": True}, "impact_table cannot be combined with two_way"),
])
def test_invalid_variant_fields_raise_naming_the_field_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OptimalExecParams(**kwargs)


def test_validation_boundaries_are_inclusive_where_documented():
    gamma_floor = 0.5 * BASE.permanent_impact * 0.5               # γτ/2 on two periods
    for alpha in (0.5, 1.5):
        assert OptimalExecParams(impact_exponent=alpha).impact_exponent == alpha
    assert OptimalExecParams(target_penalty=0.5 * BASE.permanent_impact).target_penalty == 1e-8
    # caps summing exactly to X, zero caps and infinite caps are feasible
    OptimalExecParams(periods=4, trade_caps=(2.5e5, 0.0, 7.5e5, 0.0))
    OptimalExecParams(periods=3, trade_caps=(0.0, INF, 0.0))
    # a profile just above the convexity floor is accepted; the floor itself is not
    OptimalExecParams(periods=2, impact_profile=(1.0, 1.0001 * gamma_floor / BASE.temporary_impact))
    with pytest.raises(ValueError, match=r"impact_profile\[1\] makes period 1"):
        OptimalExecParams(periods=2, impact_profile=(1.0, gamma_floor / BASE.temporary_impact))


def test_variant_properties():
    p = OptimalExecParams(periods=4, impact_profile=[1, 2, 0.5, 1], trade_caps=np.array([3e5, INF, 2e5, 4e5]),
                          smoothness=1e-6, target_penalty=1e-5)
    assert p.impact_profile == (1.0, 2.0, 0.5, 1.0) and isinstance(p.trade_caps, tuple)
    hash(p)                                                               # still a frozen, hashable value
    np.testing.assert_array_equal(p.impact_per_period, BASE.temporary_impact * np.array([1, 2, 0.5, 1]))
    np.testing.assert_array_equal(p.caps, [3e5, INF, 2e5, 4e5])
    assert not p.completes and p.observation_size == 4
    assert p.variant == "impact profile, caps, smoothness, soft target"
    assert BASE.variant == "Almgren–Chriss" and BASE.completes and BASE.observation_size == 3
    np.testing.assert_array_equal(BASE.caps, np.full(13, INF))
    np.testing.assert_array_equal(BASE.impact_per_period, np.full(13, BASE.temporary_impact))
    assert OptimalExecParams(mean_reversion=1.0, two_way=True, impact_exponent=0.5).variant == \
        "nonlinear impact, two-way, mean reversion"


# ------------------------------------------------------------------------------------------------ 2. trade ranges


def test_trade_range_without_caps_is_zero_to_inventory_then_forced():
    p = replace(BASE, periods=6)
    rng = np.random.default_rng(0)
    inventory = rng.uniform(0, X, 100)
    for k in range(p.periods):
        lo, hi = dynamics.trade_range(p, np.full(100, k), inventory)
        np.testing.assert_array_equal(hi, inventory)
        np.testing.assert_array_equal(lo, inventory if k == p.periods - 1 else 0.0)
    soft = replace(p, target_penalty=1e-6)
    lo, hi = dynamics.trade_range(soft, np.full(100, p.periods - 1), inventory)
    np.testing.assert_array_equal(lo, 0.0)
    np.testing.assert_array_equal(hi, inventory)


def random_caps(rng, periods, slack):
    """Caps summing to (1 + slack)·X, some zero and some infinite."""
    caps = rng.exponential(size=periods) * (rng.uniform(size=periods) > 0.2)
    caps[rng.integers(periods)] += 0.1
    caps = caps / caps.sum() * X * (1.0 + slack)
    if periods > 2 and rng.uniform() < 0.5:
        caps[rng.integers(periods)] = INF
    return tuple(float(c) for c in caps)


@settings(max_examples=30, deadline=None)
@given(periods=st.integers(1, 15), slack=st.sampled_from([1e-12, 1e-9, 0.05, 1.0]), seed=st.integers(0, 10_000))
def test_property_every_path_through_the_capped_trade_range_completes_within_caps(periods, slack, seed):
    rng = np.random.default_rng(seed)
    caps = random_caps(rng, periods, slack)
    p = replace(BASE, periods=periods, trade_caps=caps)
    count = 64
    fractions = rng.uniform(size=(count, periods))
    fractions[0], fractions[1] = 0.0, 1.0                        # always the low end, always the high end
    x = np.full(count, X)
    for k in range(periods):
        lo, hi = dynamics.trade_range(p, np.full(count, k), x)
        assert (lo >= 0).all() and (lo <= hi).all() and (hi <= x).all() and (hi <= caps[k]).all()
        trades = lo + fractions[:, k] * (hi - lo)
        assert (trades <= caps[k] * (1 + 1e-12)).all()
        # trade_to_action is the inverse of the action map on the range
        actions = dynamics.trade_to_action(p, np.full(count, k), x, trades)
        np.testing.assert_allclose(lo + dynamics.action_to_fraction(actions) * (hi - lo), trades, rtol=0, atol=1e-6)
        x = x - trades
    np.testing.assert_allclose(x, 0.0, atol=1e-9 * X)
    soft = replace(p, target_penalty=1e-6)
    lo, hi = dynamics.trade_range(soft, np.full(count, periods - 1), np.full(count, X))
    np.testing.assert_array_equal(lo, 0.0)
    np.testing.assert_array_equal(hi, min(X, caps[-1]))


def test_capped_trade_range_lower_end_is_the_least_the_later_caps_allow():
    p = replace(BASE, periods=4, trade_caps=(2e5, 3e5, INF, 1e5))
    lo, hi = dynamics.trade_range(p, np.arange(4), np.array([X, X, X, X]))
    np.testing.assert_array_equal(hi, [2e5, 3e5, X, 1e5])
    np.testing.assert_array_equal(lo, [0.0, 0.0, 9e5, 1e5])       # before the inf cap nothing is forced
    lo, hi = dynamics.trade_range(replace(p, trade_caps=(2e5, 3e5, 4e5, 1e5)), np.arange(4), np.full(4, 9e5))
    np.testing.assert_array_equal(lo, [1e5, 3e5, 4e5, 1e5])        # x − Σ_{j>k} u_j = (1, 4, 8, 9)·10⁵, at most hi
    np.testing.assert_array_equal(hi, [2e5, 3e5, 4e5, 1e5])


def test_two_way_trade_range_and_action_zero_trades_nothing():
    p = replace(BASE, periods=3, two_way=True, max_trade=0.4, half_spread=0.0)
    lo, hi = dynamics.trade_range(p, np.array([0, 1, 2]), np.array([X, 2 * X, -0.5 * X]))
    np.testing.assert_array_equal(lo, [-0.4 * X, -0.4 * X, -0.5 * X])
    np.testing.assert_array_equal(hi, [0.4 * X, 0.4 * X, -0.5 * X])
    soft = replace(p, target_penalty=1e-6)
    lo, hi = dynamics.trade_range(soft, np.array([2]), np.array([X]))
    assert (lo[0], hi[0]) == (-0.4 * X, 0.4 * X)
    env = OptimalExecEnv(params=p)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.0], dtype=np.float32))
    assert info["shares_traded"] == 0.0 and info["inventory"] == X
    obs, _, _, _, info = env.step(np.array([-1.0], dtype=np.float32))  # buys 0.4 X during a sell
    assert info["shares_traded"] == pytest.approx(-0.4 * X) and obs[1] == pytest.approx(1.4)
    obs, _, done, _, info = env.step(np.array([-1.0], dtype=np.float32))
    assert done and info["shares_traded"] == pytest.approx(1.4 * X) and info["inventory"] == 0.0


@pytest.mark.parametrize("kwargs, low, high", [
    ({}, [0, 0, -INF], [1, 1, INF]),
    ({"smoothness": 1e-6, "trade_caps": CAPS}, [0, 0, -INF, 0], [1, 1, INF, 1]),
    ({"two_way": True, "max_trade": 0.3}, [0, -INF, -INF], [1, INF, INF]),
    ({"two_way": True, "max_trade": 0.3, "smoothness": 1e-6}, [0, -INF, -INF, -INF], [1, INF, INF, INF]),
])
def test_observation_space_bounds_per_variant(kwargs, low, high):
    space = OptimalExecEnv(**kwargs).observation_space
    np.testing.assert_array_equal(space.low, np.array(low, dtype=np.float32))
    np.testing.assert_array_equal(space.high, np.array(high, dtype=np.float32))


def test_smoothness_observation_carries_the_previous_trade():
    p = replace(BASE, periods=4, smoothness=1e-6)
    env = OptimalExecEnv(params=p)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4,) and obs[3] == 0.0
    for action in (0.0, -0.5, 0.7):
        obs, _, _, _, info = env.step(np.array([action], dtype=np.float32))
        assert obs[3] == pytest.approx(info["shares_traded"] / X, rel=1e-6)


def test_holdings_from_trades_water_fills_weights_into_the_caps_and_schedule_policy_clips_plans():
    p = OptimalExecParams(periods=5, trade_caps=(1e5, 5e5, INF, 2e5, 3e5))
    weights = np.array([4.0, 1.0, 1.0, 3.0, 1.0])
    trades = -np.diff(schedule.holdings_from_trades(p, weights))
    assert trades.sum() == pytest.approx(X) and (trades <= p.caps * (1 + 1e-12)).all()
    capped = np.isclose(trades, p.caps)
    np.testing.assert_array_equal(capped, [True, False, False, True, False])
    level = trades[~capped] / weights[~capped]                   # one common level ν where the caps allow ...
    np.testing.assert_allclose(level, level[0], rtol=1e-12)
    assert (p.caps[capped] / weights[capped] <= level[0]).all()   # ... which the capped periods would exceed
    # a plan that breaks the caps is executed within them, and still completes
    plan = np.array([X, 0.8 * X, 1.0, 0.2 * X, 0.0])
    followed = SchedulePolicy(p, X - np.concatenate([[0.0], np.cumsum(plan / plan.sum() * X)]), "over").schedule
    executed = -np.diff(followed)
    assert (executed <= p.caps * (1 + 1e-12)).all() and followed[-1] == pytest.approx(0.0, abs=1e-6)
    scale = X / plan.sum()
    second, third = 0.8 * X * scale, scale                        # within their caps: as planned
    fourth = X - 1e5 - second - third - 3e5                       # raised to the least the last cap can finish
    np.testing.assert_allclose(executed, [1e5, second, third, fourth, 3e5], rtol=1e-9)


@pytest.mark.slow
def test_one_period_by_hand_for_every_variant_feature():
    """Reward and execution price of one period from the docstring's formulas, computed here independently:
    g = ε + η_k·v̄·(|n|/(τv̄))^α (or the table interpolated at |n|), cost = |n|·g − s·ΔS·x', penalties."""
    table = power_table(3, 0.7, columns=4, profile=(1.0, 2.0, 0.5))
    cases = [
        (OptimalExecParams(periods=3, impact_exponent=0.5, impact_profile=(1.0, 2.5, 0.5), drift=0.4), [0.3, 0.8]),
        (OptimalExecParams(periods=3, impact_exponent=1.5, side="buy", smoothness=1e-5), [0.2, 0.5]),
        (OptimalExecParams(periods=3, impact_table=table, risk_aversion=1e-5), [0.37, 0.61]),
        (OptimalExecParams(periods=2, target_penalty=3e-6, trade_caps=(4e5, 7e5), impact_profile=(1.0, 3.0)), [0.5, 0.3]),
        (OptimalExecParams(periods=3, two_way=True, max_trade=0.7, smoothness=2e-6, impact_exponent=0.8), [0.2, 0.9]),
    ]
    for p, fractions in cases:
        batch = engine.start(dynamics.DYNAMICS, p, np.array([7]), np.array([0]))
        s, previous = p.side_sign, 0.0
        for k, f in enumerate(fractions):
            x, price = batch.state.inventory[0], batch.state.price[0]
            if p.two_way:
                n = p.max_trade * X * (2 * f - 1)
            else:
                n = min(x, p.caps[k]) * f if k < p.periods - 1 or not p.completes else x
            if p.impact_table is not None:
                g = p.half_spread + np.interp(abs(n), np.linspace(0, X, len(table[k])), table[k])
            else:
                w = 1.0 if p.impact_profile is None else p.impact_profile[k]
                vbar = X / p.horizon
                g = p.half_spread + w * p.temporary_impact * vbar * (abs(n) / (p.tau * vbar)) ** p.impact_exponent
            xi = dynamics.price_shocks(None, batch.key, batch.state.elapsed)[0]
            move = p.drift * p.tau + p.volatility * np.sqrt(p.tau) * xi - s * p.permanent_impact * n
            left = x - n
            cost = abs(n) * g - s * move * left + p.risk_aversion * p.volatility**2 * p.tau * left**2
            cost += p.smoothness * (n - previous) ** 2 if k > 0 else 0.0
            cost += p.target_penalty * left**2 if (not p.completes and k == p.periods - 1) else 0.0
            transition = engine.step(dynamics.DYNAMICS, p, batch, np.array([f]))
            assert transition.batch.state.last_trade[0] == pytest.approx(n, rel=1e-12)
            assert transition.reward[0] == pytest.approx(-cost * 1e4 / (X * p.arrival_price), rel=1e-10)
            assert transition.report.execution_price[0] == pytest.approx(price - s * np.sign(n) * g, rel=1e-14)
            batch, previous = transition.batch, n


# ------------------------------------------------------------------------------------------------ 3. trade space


@settings(max_examples=40, deadline=None)
@given(periods=st.integers(1, 20), side=st.sampled_from(["sell", "buy"]), drift=st.floats(-2.0, 2.0),
       risk_aversion=st.sampled_from([0.0, 5e-7, 1e-5]), smoothness=st.sampled_from([0.0, 1e-7, 1e-5]),
       target=st.sampled_from([None, 1e-8, 1e-6, 1e-4]), caps=st.booleans(), profile=st.booleans(),
       half_spread=st.sampled_from([0.0, 0.01]), seed=st.integers(0, 10_000))
def test_property_trade_space_costs_equal_the_schedule_objective(periods, side, drift, risk_aversion, smoothness,
                                                                  target, caps, profile, half_spread, seed):
    rng = np.random.default_rng(seed)
    p = OptimalExecParams(periods=periods, side=side, drift=drift, risk_aversion=risk_aversion,
                          smoothness=smoothness, target_penalty=target, half_spread=half_spread,
                          trade_caps=random_caps(rng, periods, 0.3) if caps else None,
                          impact_profile=tuple(rng.uniform(0.3, 3.0, periods)) if profile else None)
    holdings = random_holdings(rng, p, 50)
    costs = schedule.TradeSpaceCosts.of(p)
    np.testing.assert_allclose(costs.cost(p, -np.diff(holdings)), schedule.objective(p, holdings), rtol=1e-10)


def test_trade_space_costs_refuse_the_models_they_do_not_cover():
    for p in (replace(BASE, impact_exponent=0.5), replace(BASE, mean_reversion=1.0),
              replace(BASE, two_way=True), replace(BASE, impact_table=power_table(13, 1.0))):
        with pytest.raises(ValueError, match="trade-space costs need"):
            schedule.TradeSpaceCosts.of(p)


def test_linear_impact_table_is_the_impact_profile():
    """A table sampling η_k·n/τ (linear, so interpolation is exact) costs every schedule what the profile does."""
    profile = (1.0, 0.6, 1.8, 1.2)
    linear = OptimalExecParams(periods=4, impact_profile=profile, drift=0.4)
    table = replace(linear, impact_profile=None, impact_table=power_table(4, 1.0, columns=7, profile=profile))
    holdings = random_holdings(np.random.default_rng(1), linear, 200)
    np.testing.assert_allclose(schedule.objective(table, holdings), schedule.objective(linear, holdings), rtol=1e-12)


# ------------------------------------------------------------------------------------------------ 4. reward identity


REWARD_CASES = {
    "alpha_0.5": OptimalExecParams(impact_exponent=0.5, drift=0.3, risk_aversion=2e-6),
    "alpha_1.5_buy": OptimalExecParams(impact_exponent=1.5, side="buy", drift=0.3),
    "profile": OptimalExecParams(impact_profile=PROFILE, side="buy", drift=-0.5),
    "caps_alpha_0.5": OptimalExecParams(trade_caps=CAPS, impact_exponent=0.5, impact_profile=PROFILE),
    "smoothness": OptimalExecParams(smoothness=1e-5, drift=0.2),
    "soft_target": OptimalExecParams(target_penalty=1e-6, smoothness=1e-6, trade_caps=CAPS, drift=-0.3),
    "table": OptimalExecParams(impact_table=power_table(13, 0.6, columns=8, profile=PROFILE)),
    "two_way": OptimalExecParams(two_way=True, max_trade=0.5, half_spread=0.02, impact_exponent=1.5),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REWARD_CASES))
def test_mean_return_of_a_schedule_is_its_exact_expected_return(name):
    """Σ reward minus the price shocks' zero-mean term is exactly −U in every episode, and the Monte-Carlo mean of
    Σ reward lies within 4 standard errors of schedule.expected_return; its variance is Var[IS] (bps²)."""
    p = REWARD_CASES[name]
    rng = np.random.default_rng(2)
    holdings = random_holdings(rng, p, 1)[0]
    if p.two_way:                                                 # a schedule that buys back on the way
        holdings = executed_holdings(p, [[0.3 * X, -0.2 * X] + [0.1 * X] * (p.periods - 2)])[0]
    assert (np.diff(holdings) > 0).any() == p.two_way
    assert (holdings[-1] > 0.01 * X) == (not p.completes)
    episodes = 20_000
    total, noise = play_schedule(p, holdings, episodes)
    exact = float(schedule.expected_return(p, holdings))
    np.testing.assert_allclose(total - noise, exact, rtol=1e-9)
    assert abs(total.mean() - exact) < 4.0 * total.std(ddof=1) / np.sqrt(episodes)
    assert total.var() == pytest.approx(float(schedule.variance(p, holdings)) * p.bps_per_currency**2, rel=0.05)


def test_mean_return_of_a_schedule_under_mean_reversion_with_two_way_trades():
    p = OptimalExecParams(mean_reversion=3.0, price_mean=100.3, two_way=True, half_spread=0.01, drift=0.2,
                          smoothness=1e-6, target_penalty=1e-6)
    holdings = executed_holdings(p, [[0.3 * X, -0.2 * X] + [0.1 * X] * (p.periods - 2)])[0]
    episodes = 50_000
    total, _ = play_schedule(p, holdings, episodes)
    exact = float(schedule.expected_return(p, holdings))
    assert abs(total.mean() - exact) < 4.0 * total.std(ddof=1) / np.sqrt(episodes)
    assert total.var() == pytest.approx(float(schedule.variance(p, holdings)) * p.bps_per_currency**2, rel=0.05)


# ------------------------------------------------------------------------------------------------ 5. brute force


WATER_FILLING_CASES = [
    OptimalExecParams(periods=3, risk_aversion=0.0, impact_profile=(1.0, 0.5, 2.0), trade_caps=(6e5, 3e5, INF),
                      drift=0.3),
    OptimalExecParams(periods=3, side="buy", risk_aversion=0.0, impact_profile=(1.5, 1.0, 0.6),
                      trade_caps=(INF, 2.5e5, 6e5), drift=-0.4, half_spread=0.03),
]


@pytest.mark.parametrize("p", WATER_FILLING_CASES)
def test_water_filling_oracle_equals_brute_force(p):
    assert oracle_solver(p) == "water_filling"
    oracle = make_oracle(p)
    trades = -np.diff(oracle.schedule)
    at_cap = np.isclose(trades, p.caps, rtol=1e-12)
    assert at_cap.any() and not at_cap.all()                      # a cap binds, so the caps matter
    value, best = slsqp_best(p, [[1 / 3] * 3, [0.1, 0.2, 0.7], [0.6, 0.2, 0.2]])
    assert oracle.expected_return >= value - 1e-10 * abs(value)
    assert oracle.expected_return == pytest.approx(value, rel=1e-9)
    np.testing.assert_allclose(trades, best, rtol=0, atol=1e-5 * X)
    # every schedule of a 1/600-of-X grid: none better, the best within the grid's error
    grid = np.arange(601) / 600 * X
    n1, n2 = np.meshgrid(grid, grid, indexing="ij")
    n1, n2 = n1.ravel(), n2.ravel()
    n3 = X - n1 - n2
    ok = (n3 >= 0) & (n1 <= p.caps[0]) & (n2 <= p.caps[1]) & (n3 <= p.caps[2])
    values = schedule.expected_return(p, np.column_stack([np.full(ok.sum(), X), X - n1[ok], n3[ok], np.zeros(ok.sum())]))
    assert values.max() <= oracle.expected_return + 1e-12 * abs(oracle.expected_return)
    assert values.max() > oracle.expected_return - 1e-3


BLENDED_CASES = [
    OptimalExecParams(periods=3, risk_aversion=0.0, target_penalty=2e-6, smoothness=2e-6,
                      trade_caps=(4e5, INF, 3e5), impact_profile=(1.0, 1.5, 0.7), drift=0.2),
    OptimalExecParams(periods=3, side="buy", risk_aversion=0.0, target_penalty=5e-7, smoothness=5e-6,
                      trade_caps=(INF, 2.5e5, 2e5), impact_profile=(0.8, 1.0, 1.2), drift=0.1),
]


@pytest.mark.parametrize("p", BLENDED_CASES)
def test_blended_oracle_equals_brute_force(p):
    assert oracle_solver(p) == "blended"
    oracle = make_oracle(p)
    trades = -np.diff(oracle.schedule)
    assert np.isclose(trades, p.caps, rtol=1e-12).any() and oracle.schedule[-1] > 0.05 * X
    value, best = slsqp_best(p, [[0.2] * 3, [0.1, 0.2, 0.1], [0.5, 0.2, 0.2]])
    assert oracle.expected_return >= value - 1e-10 * abs(value)
    assert oracle.expected_return == pytest.approx(value, rel=1e-9)
    np.testing.assert_allclose(trades, best, rtol=0, atol=1e-5 * X)


@pytest.mark.parametrize("side, drift", [("sell", -2.0), ("buy", 2.0), ("sell", -5.0)])
def test_blended_oracle_is_optimal_when_the_drift_urges_trading_early(side, drift):
    """The soft target's box-only optimum would trade more than X; the constraint Σn <= X binds."""
    p = OptimalExecParams(periods=5, side=side, risk_aversion=0.0, target_penalty=1e-5, drift=drift)
    oracle = make_oracle(p)
    value, _ = slsqp_best(p, [[0.2] * 5, [0.5, 0.3, 0.2, 0.0, 0.0], [0.6, 0.3, 0.1, 0.0, 0.0]])
    assert oracle.expected_return >= value - 1e-6 * abs(value)    # SLSQP may overshoot Σn <= X by ~1e-8·X
    assert oracle.expected_return == pytest.approx(value, rel=1e-6)
    assert oracle.schedule[-1] == pytest.approx(0.0, abs=1e-9 * X) and (np.diff(oracle.schedule) <= 0).all()


def test_blended_oracle_refuses_a_binding_order_size_with_smoothness():
    p = OptimalExecParams(periods=5, risk_aversion=0.0, target_penalty=1e-5, drift=-5.0, smoothness=1e-7)
    with pytest.raises(ValueError, match="no exact oracle"):
        make_oracle(p)


LOT_GRID_CASES = {
    "alpha_0.5_profile": OptimalExecParams(periods=3, impact_exponent=0.5, impact_profile=(1.0, 2.0, 0.7),
                                           drift=0.3),
    "alpha_1.5_caps_buy": OptimalExecParams(periods=3, impact_exponent=1.5, side="buy", drift=0.2,
                                            trade_caps=(X / 2, X / 3, X)),
    "alpha_1_caps_risk": OptimalExecParams(periods=4, trade_caps=(X / 2, X / 5, X, X / 10), risk_aversion=1e-5),
    "alpha_0.5_caps_4": OptimalExecParams(periods=4, impact_exponent=0.5, trade_caps=(0.35 * X, X, X, 0.23 * X),
                                          half_spread=0.0),
    "concave_table": OptimalExecParams(periods=3, impact_table=power_table(3, 0.4, columns=3, profile=(1, 1.5, 1)),
                                       risk_aversion=2e-6),
}


@pytest.mark.parametrize("name", sorted(LOT_GRID_CASES))
def test_lot_grid_oracle_equals_enumeration_of_every_lot_split(name):
    p = LOT_GRID_CASES[name]
    lots = 12 if p.periods == 3 else 10
    oracle = lot_grid_oracle(p, lots=lots)
    splits = lot_splits(p, lots)
    values = schedule.expected_return(p, holdings_of_lots(p, splits, lots))
    assert oracle.expected_return == pytest.approx(values.max(), rel=1e-12)
    oracle_lots = np.rint(-np.diff(oracle.schedule) / (p.shares / lots)).astype(int)
    np.testing.assert_allclose(-np.diff(oracle.schedule), oracle_lots * p.shares / lots, rtol=0, atol=1e-6)
    assert any((oracle_lots == s).all() for s in splits[values >= values.max() - 1e-12 * abs(values.max())])
    # and the finer grid's gain is what the enumeration on 2·lots finds
    fine = schedule.expected_return(p, holdings_of_lots(p, lot_splits(p, 2 * lots), 2 * lots))
    assert oracle.grid_refinement_gain == pytest.approx(fine.max() - values.max(), rel=1e-6, abs=1e-12)


LQ_CASES = [
    OptimalExecParams(periods=4, impact_profile=(1.2, 0.8, 1.0, 1.5), smoothness=1e-6, target_penalty=1e-6,
                      drift=0.2, risk_aversion=1e-6),
    OptimalExecParams(periods=4, side="buy", impact_profile=(0.7, 1.3, 1.0, 0.9), smoothness=3e-6, drift=-0.3,
                      risk_aversion=2e-6),
    OptimalExecParams(periods=4, target_penalty=3e-7, drift=0.1, half_spread=0.05),
]


@pytest.mark.parametrize("p", LQ_CASES)
def test_lq_oracle_equals_the_minimum_over_holdings(p):
    assert oracle_solver(p) == "lq"
    oracle = make_oracle(p)
    free = p.periods - 1 if p.completes else p.periods

    def cost(z):
        holdings = np.concatenate([[p.shares], z * p.shares] + ([[0.0]] if p.completes else []))
        return -float(schedule.expected_return(p, holdings))

    start = np.linspace(1.0, 0.0, p.periods + 1)[1:free + 1]
    result = minimize(cost, start, method="BFGS", options={"gtol": 1e-12, "xrtol": 1e-14})
    assert oracle.expected_return >= -result.fun - 1e-10 * abs(result.fun)
    assert oracle.expected_return == pytest.approx(-result.fun, rel=1e-9)
    np.testing.assert_allclose(oracle.schedule[1:free + 1], result.x * p.shares, rtol=0, atol=1e-4 * X)
    assert oracle.expected_return == pytest.approx(float(schedule.expected_return(p, oracle.schedule)), rel=1e-12)


# ------------------------------------------------------------------------------------------------ 6. closed forms


@pytest.mark.parametrize("kwargs", [
    {},
    {"trade_caps": CAPS, "risk_aversion": 0.0, "drift": 0.3},
    {"trade_caps": CAPS, "risk_aversion": 0.0, "smoothness": 1e-6, "target_penalty": 1e-5},
    {"impact_exponent": 0.5},
    {"smoothness": 1e-6, "target_penalty": 1e-6, "side": "buy"},
    {"mean_reversion": 2.0, "two_way": True, "half_spread": 0.0},
])
def test_constant_profile_of_ones_is_no_profile_and_a_constant_w_scales_eta(kwargs):
    plain = OptimalExecParams(**kwargs)
    ones = replace(plain, impact_profile=(1.0,) * plain.periods)
    a, b = make_oracle(plain), make_oracle(ones)
    assert a.expected_return == pytest.approx(b.expected_return, rel=1e-12)
    np.testing.assert_allclose(a.schedule, b.schedule, rtol=0, atol=1e-6)
    doubled = replace(plain, impact_profile=(2.0,) * plain.periods)
    stiffer = replace(plain, temporary_impact=2.0 * plain.temporary_impact)
    assert make_oracle(doubled).expected_return == pytest.approx(make_oracle(stiffer).expected_return, rel=1e-12)


def test_default_stock_oracle_with_explicit_defaults_is_the_closed_form():
    p = replace(BASE, impact_profile=(1.0,) * 13, impact_exponent=1.0, smoothness=0.0, max_trade=3.0)
    oracle = make_oracle(p)
    np.testing.assert_allclose(oracle.schedule / X, closed_form.holdings(BASE) / X, rtol=0, atol=1e-9)
    objective = closed_form.expected_shortfall(BASE) + BASE.risk_aversion * closed_form.variance(BASE)
    assert oracle.expected_return == pytest.approx(-objective * BASE.bps_per_currency, rel=1e-9)
    assert oracle.variance == pytest.approx(closed_form.variance(BASE), rel=1e-9)


def twap_value(p):
    """−(½γX² + εX + η̃X²/T) in bps: the closed-form expected return of TWAP without drift or risk."""
    return -(0.5 * p.permanent_impact * X**2 + p.half_spread * X + p.eta_tilde * X**2 / p.horizon) * p.bps_per_currency


def test_caps_that_never_bind_give_water_filling_equal_to_twap_lq_and_the_closed_form():
    p = OptimalExecParams(risk_aversion=0.0, trade_caps=(1.5 * X / 13,) * 13)
    assert oracle_solver(p) == "water_filling"
    oracle = make_oracle(p)
    lq = make_oracle(replace(p, trade_caps=None))
    np.testing.assert_allclose(oracle.schedule, policies.twap(p).schedule, rtol=0, atol=1e-6)
    np.testing.assert_allclose(oracle.schedule, lq.schedule, rtol=0, atol=1e-6)
    np.testing.assert_allclose(oracle.schedule, closed_form.holdings(replace(p, trade_caps=None)), rtol=0, atol=1e-6)
    assert oracle.expected_return == pytest.approx(lq.expected_return, rel=1e-12)
    assert oracle.expected_return == pytest.approx(twap_value(p), rel=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 1.5])
def test_risk_neutral_power_law_impact_trades_twap_at_the_closed_form_cost(alpha):
    """With λ = 0, no drift and a constant η the convex symmetric cost is minimised by equal trades, and at the
    average rate every α costs ε + ηv̄ per share: the TWAP value, whatever α."""
    p = OptimalExecParams(periods=10, risk_aversion=0.0, impact_exponent=alpha)
    oracle = make_oracle(p)
    np.testing.assert_allclose(oracle.schedule, np.linspace(X, 0, 11), rtol=0, atol=1e-6)
    assert oracle.expected_return == pytest.approx(twap_value(p), rel=1e-12)
    assert oracle.grid_refinement_gain == pytest.approx(0.0, abs=1e-12)


def test_linear_lot_grid_approaches_the_lq_optimum_from_below():
    """α = 1 on the lot grid (forced by caps that never bind, with λ > 0): within 10⁻³ bps of the LQ value, never
    above it, and the gap within twice the grid's refinement gain (error ∝ lot², so gap ≈ 4/3 gain)."""
    p = OptimalExecParams(trade_caps=(X,) * 13, drift=0.2)
    assert oracle_solver(p) == "lot_grid"
    grid = make_oracle(p)
    lq = make_oracle(replace(p, trade_caps=None))
    gap = lq.expected_return - grid.expected_return
    assert 0.0 <= gap < 1e-3
    assert 0.0 < grid.grid_refinement_gain <= gap <= 2.0 * grid.grid_refinement_gain
    np.testing.assert_allclose(grid.schedule, lq.schedule, rtol=0, atol=2e-3 * X)


@pytest.mark.parametrize("name", ["alpha_0.5", "alpha_1.5", "caps_risk_averse"])
def test_lot_grid_is_within_its_refinement_gain_of_the_continuous_optimum(name):
    p = ORACLE_CASES[name][0]
    oracle = oracle_of(name)
    start = -np.diff(oracle.schedule) / X
    value, _ = slsqp_best(p, [start])
    gap = value - oracle.expected_return
    assert -1e-9 <= gap <= 2.0 * oracle.grid_refinement_gain


def test_soft_target_closed_form_for_the_blended_and_lq_solvers():
    """λ = 0, constant η, no drift: equal trades n = Z/N with Z = (2ρ'X − ε)/(b/N + 2ρ'), b = 2η/τ − γ,
    ρ' = ρ − γ/2, and U = ½γX² + εZ + bZ²/(2N) + ρ'(Z − X)²; smoothness is free on equal trades."""
    p = OptimalExecParams(risk_aversion=0.0, target_penalty=1e-6, smoothness=1e-5)
    b = 2 * p.temporary_impact / p.tau - p.permanent_impact
    rho = p.target_penalty - 0.5 * p.permanent_impact
    N = p.periods
    Z = (2 * rho * X - p.half_spread) / (b / N + 2 * rho)
    U = 0.5 * p.permanent_impact * X**2 + p.half_spread * Z + b * Z**2 / (2 * N) + rho * (Z - X) ** 2
    holdings = X - Z * np.arange(N + 1) / N
    assert oracle_solver(p) == "blended" and holdings[-1] > 0.1 * X
    for oracle in (make_oracle(p), blended_oracle(p), make_lq_oracle(p)):
        np.testing.assert_allclose(oracle.schedule, holdings, rtol=0, atol=1e-6 * X)
        assert oracle.expected_return == pytest.approx(-U * p.bps_per_currency, rel=1e-10)
    hard = replace(p, target_penalty=1e3)                         # a huge penalty is the hard target
    assert make_oracle(hard).expected_return == pytest.approx(twap_value(p), rel=1e-6)


def test_independent_solvers_agree_where_their_models_overlap():
    """No caps: water-filling = LQ (λ = 0, hard target); blended = LQ (λ = 0, soft target, smoothness)."""
    p = OptimalExecParams(risk_aversion=0.0, impact_profile=PROFILE, drift=0.3, side="buy")
    a, b = water_filling_oracle(p), make_lq_oracle(p)
    np.testing.assert_allclose(a.schedule, b.schedule, rtol=0, atol=1e-6 * X)
    assert a.expected_return == pytest.approx(b.expected_return, rel=1e-10)
    p = OptimalExecParams(risk_aversion=0.0, impact_profile=PROFILE, drift=0.1, smoothness=1e-6,
                          target_penalty=2e-6)
    a, b = blended_oracle(p), make_lq_oracle(p)
    np.testing.assert_allclose(a.schedule, b.schedule, rtol=0, atol=1e-6 * X)
    assert a.expected_return == pytest.approx(b.expected_return, rel=1e-10)
    smooth_twap = make_oracle(OptimalExecParams(risk_aversion=0.0, smoothness=1e-4))   # equal trades pay no c
    np.testing.assert_allclose(smooth_twap.schedule, np.linspace(X, 0, 14), rtol=0, atol=1e-6 * X)


# ------------------------------------------------------------------------------------------------ 7. trajectories


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ORACLE_CASES))
def test_oracle_trajectories_respect_caps_direction_and_target(name):
    p, solver = ORACLE_CASES[name]
    assert oracle_solver(p) == solver
    oracle = oracle_of(name)
    trades, holdings, returns = run_policy(p, oracle.policy, 2000, seed=11)
    assert (trades <= p.caps * (1 + 1e-6)).all()
    if p.two_way:                                                 # only the forced last trade may exceed m·X
        assert (np.abs(trades[:, :-1]) <= p.max_trade * X * (1 + 1e-6)).all()
        assert (trades < 0).any()                                 # the adaptive policy does buy back
    else:
        assert (trades >= -1e-9 * X).all()
    if p.completes:
        np.testing.assert_allclose(holdings[:, -1], 0.0, atol=1e-9 * X)
    else:
        assert (holdings[:, -1] > 1e-3 * X).all()
    if p.mean_reversion == 0.0:                                   # a deterministic optimum: the env follows it
        np.testing.assert_allclose(holdings, np.broadcast_to(oracle.schedule, holdings.shape), rtol=0, atol=1e-6 * X)
    else:                                                         # a linear policy: on average its mean path
        np.testing.assert_allclose(holdings.mean(axis=0), oracle.schedule, rtol=0, atol=0.01 * X)
    assert abs(returns.mean() - oracle.expected_return) < 4.0 * returns.std(ddof=1) / np.sqrt(len(returns))


# ------------------------------------------------------------------------------------------------ 8. never beaten


@pytest.mark.parametrize("name", sorted(ORACLE_CASES))
def test_no_random_or_perturbed_schedule_beats_the_oracle_exactly(name):
    p = ORACLE_CASES[name][0]
    oracle = oracle_of(name)
    if p.mean_reversion == 0.0:                                   # a deterministic optimum: its schedule's value
        assert oracle.expected_return == pytest.approx(float(schedule.expected_return(p, oracle.schedule)), rel=1e-12)
    rng = np.random.default_rng(4)
    candidates = [random_holdings(rng, p, 300)]
    if p.mean_reversion == 0.0:
        candidates += [perturbed_holdings(rng, p, oracle.schedule, 300, scale) for scale in (1e-3, 0.05)]
    else:
        candidates += [perturbed_holdings(rng, p, oracle.schedule, 300, scale) for scale in (0.01, 0.2)]
    values = schedule.expected_return(p, np.concatenate(candidates))
    if name in GRID:
        # continuous schedules: never better than the grid's error, ≈ 4/3 of its refinement gain
        assert values.max() <= oracle.expected_return + 2.0 * oracle.grid_refinement_gain
        # schedules on the oracle's own grid: never better at all
        lots = 1000
        lot_trades = np.rint(-np.diff(oracle.schedule) / (X / lots)).astype(np.int64)
        grid_schedules = np.concatenate([one_lot_moves(p, lot_trades, lots), random_lot_schedules(rng, p, lots, 300)])
        values = schedule.expected_return(p, holdings_of_lots(p, grid_schedules, lots))
    assert values.max() <= oracle.expected_return + 1e-9 * abs(oracle.expected_return)
    if p.mean_reversion > 0:                                      # adapting to the price is worth > 4 bps here
        best = schedule_minimum(p)
        assert values.max() <= best + 1e-9 * abs(best)
        assert oracle.expected_return > best + 4.0


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(solver=st.sampled_from(["lq", "water_filling", "blended", "lot_grid"]), periods=st.integers(1, 12),
       side=st.sampled_from(["sell", "buy"]), drift=st.floats(-1.0, 1.0),
       risk_aversion=st.sampled_from([5e-7, 1e-5]), smoothness=st.sampled_from([0.0, 1e-6, 1e-5]),
       target=st.sampled_from([None, 1e-7, 1e-5]), caps=st.booleans(), profile=st.booleans(),
       alpha=st.sampled_from([1.0, 0.5, 1.5]), seed=st.integers(0, 10_000))
def test_property_random_variants_oracle_is_exact_followed_and_never_beaten(
        solver, periods, side, drift, risk_aversion, smoothness, target, caps, profile, alpha, seed):
    """Random combinations of the variants each exact solver covers (see the table in execgym...oracle)."""
    rng = np.random.default_rng(seed)
    fields = {"lq": dict(trade_caps=False, impact_exponent=1.0),
              "water_filling": dict(trade_caps=True, risk_aversion=0.0, smoothness=0.0, target_penalty=None,
                                    impact_exponent=1.0),
              "blended": dict(risk_aversion=0.0, target_penalty=target or 1e-6, impact_exponent=1.0,
                              drift=drift),
              "lot_grid": dict(smoothness=0.0, target_penalty=None)}[solver]
    chosen = dict(periods=periods, side=side, drift=drift, risk_aversion=risk_aversion, smoothness=smoothness,
                  target_penalty=target, impact_exponent=alpha, trade_caps=caps)
    chosen.update(fields)
    if solver == "lot_grid" and chosen["impact_exponent"] == 1.0:
        chosen["trade_caps"] = True                                       # caps with λ > 0
    chosen["trade_caps"] = random_caps(rng, periods, 0.3) if chosen["trade_caps"] else None
    chosen["impact_profile"] = tuple(rng.uniform(0.3, 3.0, periods)) if profile else None
    p = OptimalExecParams(**chosen)
    assert oracle_solver(p) == solver
    lots = 200
    try:
        oracle = make_oracle(p, lots=lots)
    except ValueError as error:      # LQ drift outside the one-way range; coarse caps; Σn <= X binds with smoothness
        assert any(reason in str(error) for reason in ("both directions", "use more lots", "no exact oracle"))
        return
    assert oracle.expected_return == pytest.approx(float(schedule.expected_return(p, oracle.schedule)), rel=1e-9)
    event("oracle built")
    _, holdings, _ = run_policy(p, oracle.policy, 2)
    np.testing.assert_allclose(holdings[0], oracle.schedule, rtol=0, atol=1e-6 * X)
    if solver == "lot_grid":
        lot_trades = np.rint(-np.diff(oracle.schedule) / (X / lots)).astype(np.int64)
        rivals = holdings_of_lots(p, np.concatenate([one_lot_moves(p, lot_trades, lots),
                                                     random_lot_schedules(rng, p, lots, 100)]), lots)
    else:
        rivals = np.concatenate([random_holdings(rng, p, 100), perturbed_holdings(rng, p, oracle.schedule, 100, 1e-3),
                                 perturbed_holdings(rng, p, oracle.schedule, 100, 0.05)])
    values = schedule.expected_return(p, rivals)
    assert values.max() <= oracle.expected_return + 1e-9 * abs(oracle.expected_return)


def schedule_minimum(p):
    """The best deterministic schedule's value (bps), completes, two-way: the quadratic's minimum over holdings."""
    def cost(z):
        return -float(schedule.expected_return(p, np.concatenate([[p.shares], z * p.shares, [0.0]])))

    return -minimize(cost, np.linspace(1, 0, p.periods + 1)[1:-1], method="BFGS", options={"gtol": 1e-12}).fun


def price_reactive(p, oracle, reaction):
    """The oracle's policy trading reaction·(price move) more (a different adaptive policy)."""
    def policy(obs):
        return np.clip(oracle.policy(obs) + reaction * obs[:, 2:3], -1.0, 1.0).astype(np.float32)
    return policy


MONTE_CARLO_SLOW = {"alpha_0.5", "alpha_1.5", "caps_risk_averse", "smoothness", "soft_target"}
"""Cases whose solver another default case already plays (lot grid: table; LQ: profile, mean_reversion): slow."""


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in MONTE_CARLO_SLOW else name
                                  for name in sorted(ORACLE_CASES)])
def test_oracle_is_not_beaten_in_paired_monte_carlo(name):
    p = ORACLE_CASES[name][0]
    oracle = oracle_of(name)
    rng = np.random.default_rng(5)
    candidates = [SchedulePolicy(p, h, "random") for h in random_holdings(rng, p, 2)]
    candidates.append(SchedulePolicy(p, perturbed_holdings(rng, p, oracle.schedule, 1, 0.02)[0], "near_oracle"))
    if p.mean_reversion > 0:
        candidates += [price_reactive(p, oracle, r) for r in (-0.05, 0.05)]
    episodes = 20_000 if p.mean_reversion > 0 else 2_000
    for policy in candidates:
        result = execgym.score(policy, "OptimalExec-v0", episodes=episodes, seed=17, params=p, oracle=oracle)
        assert result.regret.mean + result.regret.half_width >= 0.0, (policy, result.summary())
    # the oracle's own Monte-Carlo mean matches its exact value (4 standard errors)
    standard_error = result.reference_return.std / np.sqrt(episodes)
    assert abs(result.reference_return.mean - oracle.expected_return) < 4.0 * standard_error
    if p.mean_reversion > 0:
        assert abs(result.reference_return.mean - oracle.expected_return) < result.reference_return.half_width
        # sharper, with a control variate: the oracle paired with its own mean path, a schedule of exact value
        mean_path = SchedulePolicy(p, oracle.schedule, "mean_path")
        result = execgym.score(mean_path, "OptimalExec-v0", episodes=50_000, seed=23, params=p, oracle=oracle)
        estimate = float(schedule.expected_return(p, oracle.schedule)) + result.regret.mean
        assert result.regret.half_width < 0.3 * result.reference_return.half_width    # 4x sharper
        assert abs(estimate - oracle.expected_return) < 4.0 * result.regret.std / np.sqrt(50_000)
        assert result.regret.mean > 4.0                           # adapting to the price is worth > 4 bps here


# ------------------------------------------------------------------------------------------------ 9. gymnasium


def small(p, periods=5):
    """``p`` on ``periods`` periods (per-period fields cut to length, caps rescaled to stay feasible)."""
    changes = {"periods": periods}
    if p.impact_profile is not None:
        changes["impact_profile"] = p.impact_profile[:periods]
    if p.trade_caps is not None:
        caps = np.array(p.trade_caps[:periods])
        changes["trade_caps"] = tuple(caps / caps.sum() * 1.2 * p.shares)
    if p.impact_table is not None:
        changes["impact_table"] = p.impact_table[:periods]
    return replace(p, **changes)


@pytest.mark.parametrize("name", sorted(ORACLE_CASES))
def test_check_env_passes_for_every_variant(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*Box observation space (minimum|maximum) value is")
        check_env(OptimalExecEnv(params=small(ORACLE_CASES[name][0])), skip_render_check=True)


@pytest.mark.parametrize("p", [
    small(ORACLE_CASES["alpha_1.5"][0]),
    small(ORACLE_CASES["blended"][0]),
    OptimalExecParams(periods=5, smoothness=1e-5, drift=0.3),
    OptimalExecParams(periods=5, two_way=True, max_trade=0.5, mean_reversion=2.0, smoothness=1e-6,
                      target_penalty=1e-6),
], ids=["caps", "caps_smoothness_soft", "smoothness", "two_way"])
def test_vector_env_equals_gymnasium_sync_vector_env_for_variants(p):
    rng = np.random.default_rng(3)
    assert_equals_sync_vector_env(OptimalExecVectorEnv(num_envs=3, params=p), lambda: OptimalExecEnv(params=p), 13,
                                  lambda info: rng.uniform(-1.2, 1.0, size=(3, 1)).astype(np.float32))


def test_two_way_smoothness_terminal_observation_is_in_the_observation_space():
    p = OptimalExecParams(periods=3, two_way=True, smoothness=1e-6, half_spread=0.0)
    env = OptimalExecEnv(params=p)
    env.reset(seed=0)
    for action in (-1.0, -1.0, 0.0):                              # buy X twice during a sell: 3X left at the end
        obs, _, _, _, _ = env.step(np.array([action], dtype=np.float32))
        assert env.observation_space.contains(obs)


# ------------------------------------------------------------------------------------------------ 10. unsupported


@pytest.mark.parametrize("kwargs", [
    {"trade_caps": CAPS, "smoothness": 1e-6},                                       # λ > 0
    {"trade_caps": CAPS, "smoothness": 1e-6, "risk_aversion": 0.0},                 # hard target
    {"impact_exponent": 0.5, "mean_reversion": 2.0, "two_way": True, "half_spread": 0.0},
    {"impact_exponent": 1.5, "mean_reversion": 0.1},
    {"trade_caps": CAPS, "mean_reversion": 2.0},
    {"impact_exponent": 0.5, "two_way": True, "half_spread": 0.0},
    {"impact_exponent": 0.5, "target_penalty": 1e-5},
    {"impact_exponent": 1.5, "smoothness": 1e-6},
    {"trade_caps": CAPS, "target_penalty": 1e-5},                                   # caps, λ > 0, soft
    {"impact_table": power_table(13, 0.5), "mean_reversion": 1.0},
])
def test_unsupported_combinations_have_no_exact_oracle(kwargs):
    p = OptimalExecParams(**kwargs)
    with pytest.raises(ValueError, match="no exact oracle"):
        oracle_solver(p)
    with pytest.raises(ValueError, match="no exact oracle"):
        make_oracle(p)


def test_two_way_oracle_needs_zero_half_spread():
    with pytest.raises(ValueError, match="half_spread=0"):
        make_oracle(OptimalExecParams(two_way=True, mean_reversion=2.0))
