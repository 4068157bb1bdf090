"""OptimalExecRegimes-v0: the coupled Riccati oracle against the quadratic programme on the tree of regime
paths, against OptimalExec-v0's oracle when the regimes coincide or never switch, against the exact value of
every perturbed feedback policy, and the env's regime path against its transition matrix."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vector_checks import expected_return_played

import execgym
from execgym.problems.regime_exec.oracle import blind_schedule, regime_coefficients
from execgym.problems.regime_exec.params import RegimeExecParams

SMALL = dict(periods=4, regime_volatility=(1.0, 2.5), regime_liquidity=(1.0, 4.0),
             transitions=((0.7, 0.3), (0.4, 0.6)))


def _tree_optimum(p: RegimeExecParams) -> float:
    """The minimum expected cost (currency) over trades that may depend on the whole regime history: one
    variable per (period k < N − 1, history r_0..r_k), the last period trading what is left. The expected cost
    is a quadratic in them; its Hessian and gradient are taken at unit vectors and the minimum solved for."""
    each = regime_coefficients(p)
    T, N, X = p.transition_matrix, p.periods, p.shares
    histories = [h for k in range(N - 1) for h in itertools.product(range(p.regimes), repeat=k + 1)
                 if h[0] == p.initial_regime]
    index = {h: i for i, h in enumerate(histories)}

    def cost(trades: np.ndarray) -> float:
        total = 0.0
        for path in itertools.product(range(p.regimes), repeat=N):
            if path[0] != p.initial_regime:
                continue
            probability = np.prod([T[path[k], path[k + 1]] for k in range(N - 1)])
            held = X
            for k in range(N):
                r = path[k]
                n = held if k == N - 1 else trades[index[path[:k + 1]]]
                held -= n
                total += probability * (each["impact"][r] * n * n + each["permanent"][r] * n * held
                                        + each["risk"][r] * held * held)
        return total

    size, base = len(histories), cost(np.zeros(len(histories)))
    units = np.eye(size) * X
    plus = np.array([cost(u) for u in units])
    minus = np.array([cost(-u) for u in units])
    hessian = np.array([[cost(units[a] + units[b]) - plus[a] - plus[b] + base for b in range(size)]
                        for a in range(size)])
    gradient = 0.5 * (plus - minus)
    solution = np.linalg.solve(hessian, -gradient)
    return base + gradient @ solution + 0.5 * solution @ hessian @ solution + p.half_spread * X


@pytest.mark.parametrize("kwargs", [SMALL, {**SMALL, "initial_regime": 1, "risk_aversion": 2e-6},
                                    {**SMALL, "regime_volatility": (1.0, 1.5, 3.0), "regime_liquidity": (1.0, 2.0, 5.0),
                                     "transitions": ((0.6, 0.3, 0.1), (0.2, 0.5, 0.3), (0.1, 0.2, 0.7))}])
def test_the_oracle_is_the_optimum_over_regime_histories(kwargs):
    """The Markov policy of the coupled Riccati recursions is worth what the best history-dependent trades are
    (the quadratic programme on the tree of regime paths), to 1e-10."""
    p = RegimeExecParams(**kwargs)
    oracle = execgym.make_oracle("OptimalExecRegimes-v0", params=p)
    assert -oracle.expected_return / p.bps_per_currency == pytest.approx(_tree_optimum(p), rel=1e-10)


def test_coinciding_or_absorbing_regimes_are_optimal_exec():
    """Regimes that coincide, or a chain that never leaves the initial regime, give OptimalExec-v0's optimum of
    that regime's market: its holdings and its value."""
    alike = RegimeExecParams(regime_volatility=(1.5, 1.5), regime_liquidity=(2.0, 2.0))
    stuck = RegimeExecParams(transitions=((1.0, 0.0), (0.0, 1.0)), initial_regime=1)
    for p in (alike, stuck):
        oracle = execgym.make_oracle("OptimalExecRegimes-v0", params=p)
        single = execgym.make_oracle("OptimalExec-v0", params=p.regime_params(p.initial_regime))
        np.testing.assert_allclose(oracle.schedule, single.schedule, rtol=1e-12, atol=1e-6)
        assert oracle.expected_return == pytest.approx(single.expected_return, rel=1e-12)


def _feedback_value(p: RegimeExecParams, fractions: np.ndarray) -> float:
    """The exact expected cost (currency) of trading the fraction ``fractions`` (R, N − 1) of the shares held in
    each (regime, period), the last period all of them: the cost of a period is x²·c_r(K), so it needs only
    s_k(r) = E[x_k²·1{r_k = r}], which moves as s_{k+1}(r') = Σ_r T[r, r']·(1 − K_k^r)²·s_k(r)."""
    each, T = regime_coefficients(p), p.transition_matrix
    second = np.zeros(p.regimes)
    second[p.initial_regime] = p.shares**2
    total = 0.0
    for k in range(p.periods - 1):
        K = fractions[:, k]
        total += second @ (each["impact"] * K**2 + each["permanent"] * K * (1 - K) + each["risk"] * (1 - K) ** 2)
        second = (second * (1.0 - K) ** 2) @ T
    return total + second @ each["impact"] + p.half_spread * p.shares


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.001, 0.3), stay=st.floats(0.5, 0.99))
def test_no_perturbed_feedback_beats_the_oracle(seed, scale, stay):
    """The oracle's fractions moved by up to ``scale`` never cost less (exact values), and the oracle's own
    fractions cost its value."""
    p = RegimeExecParams(transitions=((stay, 1.0 - stay), (0.3, 0.7)))
    oracle = execgym.make_oracle("OptimalExecRegimes-v0", params=p)
    fractions = oracle.policy.fractions[:, :-1]
    value = -oracle.expected_return / p.bps_per_currency
    assert _feedback_value(p, fractions) == pytest.approx(value, rel=1e-11)
    moved = np.clip(fractions + scale * np.random.default_rng(seed).uniform(-1, 1, fractions.shape), 0.0, 1.0)
    assert _feedback_value(p, moved) >= value * (1.0 - 1e-12)


def test_the_blind_schedule_prices_exactly_and_observing_the_regime_is_worth_something():
    """The best deterministic schedule's value is its feedback value (fractions that ignore the regime), and
    it is worse than the oracle's."""
    p = RegimeExecParams()
    holdings, blind_return = blind_schedule(p)
    fractions = np.tile((holdings[:-2] - holdings[1:-1]) / holdings[:-2], (p.regimes, 1))
    assert -blind_return / p.bps_per_currency == pytest.approx(_feedback_value(p, fractions), rel=1e-11)
    assert blind_return < execgym.make_oracle("OptimalExecRegimes-v0", params=p).expected_return


def test_the_regime_path_follows_the_transition_matrix_and_the_oracle_earns_its_value():
    """4,096 episodes of the oracle in the vector env: each regime's observed transition frequencies are within
    4 standard errors of its row of T, and the mean of the summed expected rewards within 4 of the value."""
    p = RegimeExecParams()
    oracle = execgym.make_oracle("OptimalExecRegimes-v0", params=p)
    env = gym.make_vec("OptimalExecRegimes-v0", num_envs=4096, params=p)
    obs, info = env.reset(seed=3)
    counts, totals = np.zeros((2, 2)), np.zeros(4096)
    regime = info["regime"]
    for _ in range(p.periods):
        obs, _, done, _, info = env.step(oracle.policy(obs))
        totals += info["final_info"]["expected_reward"] if done.all() else info["expected_reward"]
        if not done.all():
            np.add.at(counts, (regime, info["regime"]), 1)
            regime = info["regime"]
    frequencies = counts / counts.sum(axis=1, keepdims=True)
    errors = np.sqrt(p.transition_matrix * (1 - p.transition_matrix) / counts.sum(axis=1, keepdims=True))
    assert np.all(np.abs(frequencies - p.transition_matrix) <= 4 * errors)
    assert abs(totals.mean() - oracle.expected_return) <= 4 * totals.std() / np.sqrt(totals.size)


def _seeds_of_paths(p: RegimeExecParams) -> dict[tuple, int]:
    """A seed of each regime path the env plays (paths read from ``info["regime"]``, which the observation's
    indicators must show)."""
    env, found = gym.make("OptimalExecRegimes-v0", params=p), {}
    for seed in range(500):
        obs, info = env.reset(seed=seed)
        path = [int(info["regime"])]
        for _ in range(p.periods - 1):
            obs, _, _, _, info = env.step(np.array([0.0], dtype=np.float32))
            assert obs[3 + info["regime"]] == 1.0 and obs[3:].sum() == 1.0
            path.append(int(info["regime"]))
        found.setdefault(tuple(path), seed)
    return found


@pytest.mark.parametrize("kwargs", [dict(SMALL, periods=3), dict(SMALL, periods=3, side="buy", initial_regime=1)])
def test_the_oracle_earns_its_value_on_every_regime_path_exactly(kwargs):
    """Each regime path played once (a seed for each): the oracle's expected rewards along it, weighted by the
    path's probability from the transition matrix, sum to its value to 1e-10; every path of positive
    probability is found."""
    p = RegimeExecParams(**kwargs)
    oracle = execgym.make_oracle("OptimalExecRegimes-v0", params=p)
    T = p.transition_matrix
    found = _seeds_of_paths(p)
    assert set(found) == {path for path in itertools.product(range(2), repeat=3) if path[0] == p.initial_regime}
    total = 0.0
    for path, seed in found.items():
        probability = np.prod([T[a, b] for a, b in zip(path, path[1:])])
        total += probability * expected_return_played(gym.make("OptimalExecRegimes-v0", params=p), oracle.policy, seed)
    assert total == pytest.approx(oracle.expected_return, rel=1e-10)


def test_a_period_in_each_regime_by_hand():
    """Selling half of what is left each period: the execution price S − ε − ℓ_r·η·n/τ and the expected reward
    −(n·(ε + ℓ_r·η·n/τ) + γ·n·x' + λ·v_r²σ²τ·x'²)·10⁴/(X·S0) in the regime r the previous step announced."""
    p = RegimeExecParams(**SMALL)
    env = gym.make("OptimalExecRegimes-v0", params=p)
    _, info = env.reset(seed=next(seed for path, seed in _seeds_of_paths(p).items() if len(set(path)) == 2))
    held, tau = p.shares, p.tau
    for k in range(p.periods):
        r, mid = info["regime"], env.unwrapped.state.price
        _, _, _, _, info = env.step(np.array([0.0], dtype=np.float32))
        n = held if k == p.periods - 1 else held / 2.0
        left = held - n
        unit = p.half_spread + p.regime_liquidity[r] * p.temporary_impact * n / tau
        assert info["execution_price"] == pytest.approx(mid - unit, rel=1e-14)
        expected = -(n * unit + p.permanent_impact * n * left
                     + p.risk_aversion * (p.regime_volatility[r] * p.volatility) ** 2 * tau * left**2)
        assert info["expected_reward"] == pytest.approx(expected * p.bps_per_currency, rel=1e-12)
        held = left


@settings(max_examples=60, deadline=None)
@given(volatility=st.tuples(st.floats(0.01, 100.0), st.floats(0.01, 100.0)),
       liquidity=st.tuples(st.floats(0.05, 1000.0), st.floats(0.05, 1000.0)),
       stays=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), risk=st.floats(0.0, 1e-4))
def test_the_optimum_always_sells_a_fraction_of_what_is_left(volatility, liquidity, stays, risk):
    """With the permanent impact the same in every regime, the optimal fraction traded lies in [0, 1] in every
    (period, regime) of random markets: the oracle never refuses one (its check is a safeguard)."""
    p = RegimeExecParams(regime_volatility=volatility, regime_liquidity=liquidity, risk_aversion=risk,
                         transitions=((stays[0], 1.0 - stays[0]), (1.0 - stays[1], stays[1])))
    fractions = execgym.make_oracle("OptimalExecRegimes-v0", params=p).policy.fractions
    assert ((fractions >= 0.0) & (fractions <= 1.0)).all()


def test_same_seed_same_episode():
    env = gym.make("OptimalExecRegimes-v0")
    runs = []
    for _ in range(2):
        env.reset(seed=11)
        runs.append([env.step(np.array([0.0], dtype=np.float32))[4]["regime"] for _ in range(13)])
    assert runs[0] == runs[1] and len(set(runs[0])) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"regime_volatility": (1.0, -2.0)}, r"regime_volatility"), ({"regime_liquidity": (1.0,)}, "one entry per"),
    ({"transitions": ((0.9, 0.2), (0.2, 0.8))}, r"transitions\[0\] must sum to 1"),
    ({"transitions": ((1.0,),)}, r"shape \(R, R\)"), ({"initial_regime": 2}, "initial_regime"),
    ({"volatility": 5000.0, "regime_volatility": (1.0, 3.0)}, r"regime 1 .regime_volatility\[1\] = 3.*volatility"),
    ({"regime_volatility": tuple([1.0] * 17), "regime_liquidity": tuple([1.0] * 17)}, "1 to 16")])
def test_bad_params_are_refused_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegimeExecParams(**kwargs)

