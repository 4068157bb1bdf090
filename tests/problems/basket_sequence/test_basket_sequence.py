"""BasketSequence-v0: parameter validation, the cost construction against a hand computation and its square-root
intuition, the user cost matrix, the Held–Karp oracle against brute force over every order (from the start and from
random off-path states), nothing beating it (exactly and with paired returns), the labelled heuristic above 16
trades, and the env: check_env, action masks, seeding, the vector env against SyncVectorEnv, and the reward identity
E[Σ reward] = −C(order) with noise common to every policy."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import example, given, settings, strategies as st
from vector_checks import assert_equals_sync_vector_env

import execgym
from execgym import engine
from execgym.noise import episode_keys, standard_normals
from execgym.problems.basket_sequence import dynamics
from execgym.problems.basket_sequence.env import BasketSequenceEnv, BasketSequenceVectorEnv
from execgym.problems.basket_sequence.market import square_root_impact
from execgym.problems.basket_sequence.oracle import SequenceOracle, make_oracle
from execgym.problems.basket_sequence.params import BasketSequenceParams as Params
from execgym.problems.basket_sequence.policies import (OrderPolicy, ValuePolicy, as_given, nearest_neighbour,
                                                       rollout_order)
from execgym.records import table_of
from execgym.scoring import run_episodes
from execgym.solvers.sequencing import held_karp, nearest_neighbour_two_opt, path_cost

ENV_ID = "BasketSequence-v0"

# A 3-trade basket small enough to price by hand (test_cost_matrix_by_hand).
HAND = dict(notionals=(1e6, 2e6, 1e6), sides=(1, 1, -1), impact_bps=(10.0, 20.0, 30.0),
            correlation=((1.0, 0.5, 0.2), (0.5, 1.0, -0.4), (0.2, -0.4, 1.0)), cross_impact=0.5, hedge_credit=0.6)


def cost_of(p, order):
    return path_cost(p.first_costs, p.costs, order)


def all_orders(p, prefix=()):
    """(every completion of ``prefix`` (m, n − len(prefix)), the cost of each, from the start) by brute force."""
    rest = [k for k in range(p.trades) if k not in prefix]
    orders = np.array(list(itertools.permutations(rest)), dtype=np.int64).reshape(-1, len(rest))
    full = np.concatenate([np.tile(np.array(prefix, dtype=np.int64), (orders.shape[0], 1)), orders], axis=1)
    costs = p.first_costs[full[:, 0]] + p.costs[full[:, :-1], full[:, 1:]].sum(axis=1)
    return orders, costs


def random_params(rng, n, **kwargs):
    """A random constructed basket with random cross-impact and hedge credit."""
    return Params(trades=n, instance_seed=int(rng.integers(0, 10**6)), cross_impact=float(rng.uniform(0, 1)),
                  hedge_credit=float(rng.uniform(0, 1)), **kwargs)


def play(params, seeds, policy):
    """Returns (len(seeds),) of ``policy`` on the native vector env, one episode per seed."""
    returns, _ = run_episodes(policy, ENV_ID, np.asarray(seeds, dtype=np.int64), params)
    return returns


# ------------------------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("kwargs, match", [
    (dict(trades=1), r"trades must be an integer in \[2, 256\], got 1"),
    (dict(trades=257), r"trades must be an integer in \[2, 256\], got 257"),
    (dict(trades=4.0), r"trades must be an integer"),
    (dict(trades=True), r"trades must be an integer"),
    (dict(notionals=(1e6,)), r"trades \(the length of notionals\) must be an integer in \[2, 256\], got 1"),
    (dict(trades=3, notionals=(1e6, 2e6)), r"notionals must have shape \(3,\)"),
    (dict(trades=3, notionals=(1e6, 0.0, 1e6)), r"notionals\[1\] must be in \[1e-06, 1e\+15\], got 0\.0"),
    (dict(trades=3, notionals=(1e6, -5.0, 1e6)), r"notionals\[1\] must be in \[1e-06, 1e\+15\], got -5\.0"),
    (dict(trades=2, notionals=(1e6, np.nan)), r"notionals\[1\] must be in \[1e-06, 1e\+15\], got nan"),
    (dict(trades=2, notionals="ab"), r"notionals must"),
    (dict(trades=3, sides=(1, 0, -1)), r"sides\[1\] must be \+1 \(buy\) or -1 \(sell\), got 0\.0"),
    (dict(trades=3, sides=(1, -1, 2)), r"sides\[2\] must be \+1 \(buy\) or -1 \(sell\)"),
    (dict(trades=2, sides=("buy", "sell")), r"sides must be"),
    (dict(trades=2, correlation=((1.0, 0.3), (0.2, 1.0))), r"correlation must be symmetric"),
    (dict(trades=2, correlation=((1.0, 0.3), (0.3, 0.9))), r"correlation must have a unit diagonal"),
    (dict(trades=2, correlation=((1.0, 1.5), (1.5, 1.0))), r"correlation\[0\]\[1\] must lie in \[-1, 1\], got 1\.5"),
    (dict(trades=3, correlation=((1.0, 0.9, 0.9), (0.9, 1.0, -0.9), (0.9, -0.9, 1.0))),
     r"correlation must be positive semi-definite; its smallest eigenvalue is -"),
    (dict(trades=2, correlation=((1.0, 0.3, 0.0), (0.3, 1.0, 0.0))), r"correlation must have shape \(2, 2\)"),
    (dict(trades=3, impact_bps=(10.0, -1.0, 5.0)), r"impact_bps\[1\] must be in \[0, 1e\+09\], got -1\.0"),
    (dict(trades=2, impact_bps=(10.0, np.inf)), r"impact_bps\[1\] must be in \[0, 1e\+09\], got inf"),
    (dict(cross_impact=1.5), r"cross_impact must be in \[0, 1\], got 1\.5"),
    (dict(cross_impact=-0.1), r"cross_impact must be in \[0, 1\], got -0\.1"),
    (dict(hedge_credit=1.01), r"hedge_credit must be in \[0, 1\], got 1\.01"),
    (dict(hedge_credit=-1.0), r"hedge_credit must be in \[0, 1\], got -1\.0"),
    (dict(cost_noise=-0.1), r"cost_noise must be in \[0, 1e\+09\], got -0\.1"),
    (dict(instance_seed=-1), r"instance_seed must be an integer in \[0, 9223372036854775807\], got -1"),
    (dict(heuristic="yes"), r"heuristic must be True or False, got 'yes'"),
    (dict(cost_matrix=np.zeros((3, 3)), notionals=(1e6,) * 3),
     r"cost_matrix replaces the construction: leave notionals at the default"),
    (dict(cost_matrix=np.zeros((3, 3)), sides=(1, 1, 1), correlation=np.eye(3)),
     r"cost_matrix replaces the construction: leave sides, correlation at the default"),
    (dict(cost_matrix=np.zeros((3, 3)), cross_impact=0.3), r"leave cross_impact at the default"),
    (dict(cost_matrix=np.zeros((3, 3)), hedge_credit=0.0), r"leave hedge_credit at the default"),
    (dict(cost_matrix=np.zeros((3, 3)), instance_seed=4), r"leave instance_seed at the default"),
    (dict(cost_matrix=np.zeros((3, 2))), r"cost_matrix must have shape \(3, 3\)"),
    (dict(trades=2, cost_matrix=np.zeros((3, 3))), r"cost_matrix must have shape \(2, 2\)"),
    (dict(cost_matrix=[[0.0, 1.0], [np.nan, 0.0]]), r"cost_matrix\[1\]\[0\] must be in \[-1e\+09, 1e\+09\], got nan"),
    (dict(cost_matrix=np.zeros((3, 3)), start_costs=(1.0, 2.0)), r"start_costs must have shape \(3,\)"),
    (dict(cost_matrix=np.zeros((2, 2)), start_costs=(1.0, -np.inf)),
     r"start_costs\[1\] must be in \[-1e\+09, 1e\+09\], got -inf"),
    (dict(start_costs=(1.0, 2.0)), r"start_costs can only be given with cost_matrix"),
])
def test_invalid_parameters_raise_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Params(**kwargs)


def test_unknown_and_conflicting_arguments_raise():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['impact'\] for BasketSequence; valid names"):
        gym.make(ENV_ID, impact=3.0)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['foo'\]"):
        gym.make_vec(ENV_ID, num_envs=2, foo=1)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['foo'\]"):
        execgym.make_oracle(ENV_ID, foo=1)
    with pytest.raises(ValueError, match=r"pass either params= or keyword parameters, not both"):
        BasketSequenceEnv(params=Params(), trades=4)
    with pytest.raises(ValueError, match=r"params must be a BasketSequenceParams"):
        BasketSequenceEnv(params=dict(trades=4))
    with pytest.raises(ValueError, match=r"num_envs must be an integer in \[1, inf\)"):
        BasketSequenceVectorEnv(num_envs=0)


def test_defaults_and_derived_quantities():
    p = Params()
    assert p.trades == 8 and p.exact and not p.user_costs
    assert p.notional == pytest.approx(sum(p.notionals)) and p.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p.base_costs, np.array(p.impact_bps) * np.array(p.notionals) / p.notional)
    np.testing.assert_array_equal(p.first_costs, p.base_costs)
    assert np.all(np.diag(p.costs) == 0.0)
    assert not p.costs.flags.writeable and not p.first_costs.flags.writeable
    assert Params() == p and Params(instance_seed=1) != p                 # a pure function of the seed
    assert Params(trades=5).trades == 5 and Params(notionals=(1e6, 2e6, 3e6)).trades == 3
    # an input given replaces the drawn one; the others stay drawn from the same seed
    q = Params(sides=(1,) * 8)
    assert q.sides == (1,) * 8 and q.notionals == p.notionals and q.correlation == p.correlation
    assert Params(trades=17).trades == 17 and not Params(trades=17).exact


# --------------------------------------------------------------------------------------- cost matrix


def test_cost_matrix_by_hand():
    """d_ij = c_j + κ·b_i·w_j·x_ij, c_j = b_j·w_j, x_ij = ρ_ij·s_i·s_j (× h when negative), bps of W = 4 M."""
    p = Params(**HAND)
    assert p.trades == 3 and p.notional == 4e6
    np.testing.assert_allclose(p.weights, [0.25, 0.5, 0.25])
    c = np.array([10 * 0.25, 20 * 0.5, 30 * 0.25])                        # 2.5, 10, 7.5
    np.testing.assert_allclose(p.base_costs, c, rtol=1e-15)
    np.testing.assert_allclose(p.first_costs, c, rtol=1e-15)
    # x_01 = 0.5 (same side, ρ > 0: adverse); x_02 = 0.6·(−0.2) (buy then sell, ρ > 0: a hedge, credit h = 0.6);
    # x_12 = (−0.4)(+1)(−1) = 0.4 (buy then sell on negatively correlated names: adverse)
    expected = np.array([
        [0.0, 10 + 0.5 * 10 * 0.5 * 0.5, 7.5 + 0.5 * 10 * 0.25 * (0.6 * -0.2)],
        [2.5 + 0.5 * 20 * 0.25 * 0.5, 0.0, 7.5 + 0.5 * 20 * 0.25 * 0.4],
        [2.5 + 0.5 * 30 * 0.25 * (0.6 * -0.2), 10 + 0.5 * 30 * 0.5 * 0.4, 0.0]])
    np.testing.assert_allclose(p.costs, expected, rtol=1e-14)
    np.testing.assert_allclose(expected, [[0, 11.25, 7.35], [3.75, 0, 8.5], [2.05, 13.0, 0]], rtol=1e-14)
    # the six orders: 012 22.25, 021 22.85, 102 21.10, 120 20.55, 201 20.80, 210 24.25
    oracle = make_oracle(p)
    assert oracle.order.tolist() == [1, 2, 0] and not oracle.bound_only
    assert oracle.expected_return == pytest.approx(-20.55, abs=1e-12)
    assert cost_of(p, [0, 1, 2]) == pytest.approx(22.25) and cost_of(p, [2, 1, 0]) == pytest.approx(24.25)


def test_cross_impact_and_hedge_credit_limits():
    """κ = 0: every order costs Σ c_j. h = 0: a hedge earns nothing. h = 1: it earns the full move."""
    p = Params(**{**HAND, "cross_impact": 0.0})
    np.testing.assert_allclose(p.costs, np.where(np.eye(3) == 1, 0.0, p.base_costs[None, :]))
    q = Params(**{**HAND, "hedge_credit": 0.0})
    assert q.costs[0, 2] == pytest.approx(7.5) and q.costs[2, 0] == pytest.approx(2.5)
    assert q.costs[0, 1] == pytest.approx(11.25)                         # adverse terms untouched
    r = Params(**{**HAND, "hedge_credit": 1.0})
    assert r.costs[0, 2] == pytest.approx(7.5 - 0.5 * 10 * 0.25 * 0.2)


def square_root_pair(big_first_listed, sides, rho):
    """Two names with the same volatility and daily volume: impact b ∝ √N (square-root law)."""
    notionals = np.array([4e6, 1e6] if big_first_listed else [1e6, 4e6])
    impact = square_root_impact(notionals, [3e8, 3e8], [200.0, 200.0])
    return Params(notionals=tuple(notionals), sides=sides, impact_bps=tuple(impact),
                  correlation=((1.0, rho), (rho, 1.0)))


@pytest.mark.parametrize("big_first_listed", [True, False])
@pytest.mark.parametrize("sides, rho, big_first", [
    ((1, 1), 0.6, True),      # same way, positively correlated: the big one first
    ((-1, -1), 0.6, True),
    ((1, -1), -0.6, True),    # opposite sides on negatively correlated names: also the same way
    ((1, -1), 0.6, False),    # a hedge: the small one first
    ((-1, 1), 0.6, False),
    ((1, 1), -0.6, False),
])
def test_square_root_intuition(big_first_listed, sides, rho, big_first):
    p = square_root_pair(big_first_listed, sides, rho)
    big = 0 if big_first_listed else 1
    expected = [big, 1 - big] if big_first else [1 - big, big]
    oracle = make_oracle(p)
    assert oracle.order.tolist() == expected
    assert cost_of(p, expected) < cost_of(p, expected[::-1]) - 1e-6


def test_user_cost_matrix():
    matrix = np.array([[0.0, 5.0, 1.0, 9.0], [2.0, 0.0, 7.0, 3.0], [4.0, 1.0, 0.0, 8.0], [6.0, 2.0, 3.0, 0.0]])
    p = Params(cost_matrix=matrix)
    assert p.trades == 4 and p.user_costs and np.isnan(p.notional) and p.notionals is None
    np.testing.assert_array_equal(p.costs, matrix)
    np.testing.assert_array_equal(p.first_costs, np.zeros(4))
    q = Params(cost_matrix=matrix.tolist(), start_costs=(3.0, 0.0, 5.0, 1.0), cost_noise=0.0)
    np.testing.assert_array_equal(q.first_costs, [3.0, 0.0, 5.0, 1.0])
    for params in (p, q):
        _, costs = all_orders(params)
        oracle = make_oracle(params)
        assert oracle.expected_return == -costs.min() and cost_of(params, oracle.order) == costs.min()
    # the env charges exactly these numbers (no noise): order 3, 1, 0, 2 costs 1 + 2 + 2 + 1
    env = BasketSequenceEnv(params=q)
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (3, 1, 0, 2)]
    assert rewards == [-1.0, -2.0, -2.0, -1.0]


# -------------------------------------------------------------------------------------------- oracle


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 7))
@example(seed=0, n=7)
def test_oracle_equals_brute_force_over_all_orders(seed, n):
    p = random_params(np.random.default_rng(seed), n)
    oracle = make_oracle(p)
    _, costs = all_orders(p)
    assert isinstance(oracle, SequenceOracle) and not oracle.bound_only
    assert oracle.expected_return == pytest.approx(-costs.min(), abs=1e-12)
    assert oracle.expected_return == pytest.approx(-cost_of(p, oracle.order), abs=1e-12)   # DP sums backwards
    np.testing.assert_array_equal(rollout_order(p, oracle.policy), oracle.order)


def test_default_oracle_equals_brute_force_over_all_8_factorial_orders():
    p = Params()
    oracle = execgym.make_oracle(ENV_ID)
    orders, costs = all_orders(p)
    assert orders.shape == (40320, 8)
    assert oracle.expected_return == pytest.approx(-costs.min(), abs=1e-12)
    assert oracle.expected_return == pytest.approx(-cost_of(p, oracle.order), abs=1e-12)
    assert (costs > costs.min() + 1e-9).sum() == costs.size - 1             # the default optimum is unique
    assert oracle.order.tolist() == orders[np.argmin(costs)].tolist()


def prefix_cost(p, prefix):
    if not prefix:
        return 0.0
    return float(p.first_costs[prefix[0]] + sum(p.costs[i, j] for i, j in zip(prefix, prefix[1:])))


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 7))
@example(seed=1, n=7)
def test_oracle_policy_is_optimal_from_random_off_path_states(seed, n):
    """From states (done set, last trade) of random prefixes of every length, the oracle's policy, acting on the
    observation, finishes at the brute-force least cost of completing that prefix."""
    rng = np.random.default_rng(seed)
    p = random_params(rng, n, cost_noise=0.0)
    policy = make_oracle(p).policy
    assert isinstance(policy, ValuePolicy)
    for length in range(n):
        prefixes = [rng.permutation(n)[:length].tolist() for _ in range(4)]
        states = [dynamics.State(length, n - length, q[-1] if q else -1, prefix_cost(p, q), sum(1 << j for j in q),
                                 0, 0, 0, 0) for q in prefixes]
        zeros = np.zeros(4, dtype=np.uint64)
        batch = engine.Batch(seed=zeros, episode=zeros, key=zeros, state=table_of(states))
        for _ in range(n - length):
            batch = engine.step(dynamics.DYNAMICS, p, batch, policy(engine.observe(dynamics.DYNAMICS, p, batch))).batch
        assert (batch.state.done == 2**n - 1).all()
        for i, prefix in enumerate(prefixes):
            _, costs = all_orders(p, prefix)
            assert batch.state.cost[i] == pytest.approx(costs.min(), abs=1e-12), prefix


@pytest.mark.slow
def test_score_of_the_oracle():
    oracle = execgym.make_oracle(ENV_ID)
    result = execgym.score(oracle.policy, ENV_ID, episodes=4000, seed=3)
    assert result.units == "bps" and result.oracle_return == oracle.expected_return
    assert result.regret.mean == 0.0 and result.regret.half_width == 0.0
    assert abs(result.reference_return.mean - oracle.expected_return) <= result.reference_return.half_width
    assert abs(result.policy_return.mean - oracle.expected_return) <= result.policy_return.half_width
    # the Monte-Carlo spread is the noise alone: σ·√n per episode
    assert result.reference_return.std == pytest.approx(0.1 * np.sqrt(8), rel=0.05)
    # a baseline's paired regret is its exact extra cost in every episode: a zero-width interval
    p = Params()
    greedy = execgym.score(nearest_neighbour(p), ENV_ID, episodes=500, seed=3)
    extra = cost_of(p, rollout_order(p, nearest_neighbour(p))) + oracle.expected_return
    assert extra > 1.0
    assert greedy.regret.mean == pytest.approx(extra, abs=1e-11) and greedy.regret.half_width < 1e-10
    assert greedy.regret_pct.mean == pytest.approx(100 * extra / -oracle.expected_return, abs=1e-9)


@pytest.mark.parametrize("n", [4, 8, 11])
def test_baselines_never_beat_the_oracle_exactly_and_in_paired_returns(n):
    rng = np.random.default_rng(n)
    seeds = np.arange(300)
    strictly_worse = 0
    for _ in range(6):
        p = random_params(rng, n)
        oracle = make_oracle(p)
        best = -oracle.expected_return
        oracle_returns = play(p, seeds, oracle.policy)
        for baseline in (as_given(p), nearest_neighbour(p)):
            order = rollout_order(p, baseline)
            cost = cost_of(p, order)
            assert cost >= best - 1e-12
            strictly_worse += cost > best + 1e-9
            returns = play(p, seeds, baseline)
            # common noise: per seed, the return difference is exactly the cost difference
            np.testing.assert_allclose(oracle_returns - returns, cost - best, rtol=0, atol=1e-11)
        heuristic = nearest_neighbour_two_opt(p.first_costs, p.costs)
        assert heuristic.cost >= best - 1e-12
    assert strictly_worse >= 6      # the baselines are usually beaten, so the comparison has teeth


def test_as_given_and_nearest_neighbour_orders():
    p = Params(**HAND)
    assert rollout_order(p, as_given(p)).tolist() == [0, 1, 2]
    # greedy: a = (2.5, 10, 7.5) -> 0; from 0: d_01 = 11.25, d_02 = 7.35 -> 2; then 1
    assert rollout_order(p, nearest_neighbour(p)).tolist() == [0, 2, 1]
    policy = OrderPolicy(p, [2, 0, 1])
    assert rollout_order(p, policy).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match=r"order must be a permutation of 0\.\.2"):
        OrderPolicy(p, [0, 0, 1])
    with pytest.raises(ValueError, match=r"ValuePolicy needs an exact solution"):
        ValuePolicy(p, nearest_neighbour_two_opt(p.first_costs, p.costs))


def exact_above_max(p):
    """C* for 17 trades from 17 Held–Karp runs of 16: fix the first trade k, then start costs a_k + d_{k·}."""
    best = np.inf
    for k in range(p.trades):
        rest = np.array([j for j in range(p.trades) if j != k])
        sub = held_karp(p.first_costs[k] + p.costs[k, rest], p.costs[np.ix_(rest, rest)])
        best = min(best, sub.cost)
    return best


@pytest.mark.slow
def test_more_than_16_trades_need_heuristic_and_give_a_labelled_bound():
    with pytest.raises(ValueError, match=r"up to 16 trades, got trades = 17; pass heuristic=True.*bound_only=True"):
        execgym.make_oracle(ENV_ID, trades=17)
    p = Params(trades=17, heuristic=True, instance_seed=2)
    oracle = execgym.make_oracle(ENV_ID, params=p)
    assert oracle.bound_only and isinstance(oracle.policy, OrderPolicy)
    assert oracle.expected_return == -cost_of(p, oracle.order)
    np.testing.assert_array_equal(rollout_order(p, oracle.policy), oracle.order)
    assert oracle.expected_return <= -exact_above_max(p) + 1e-12          # a bound on the optimal return
    for baseline in (as_given(p), nearest_neighbour(p)):
        assert oracle.expected_return >= -cost_of(p, rollout_order(p, baseline)) - 1e-12
    # 2-opt's own check: its order is priced by the env as it says
    returns = play(p, np.arange(200), oracle.policy)
    noise = play(Params(trades=17, heuristic=True, instance_seed=2, cost_noise=0.0), np.arange(200), oracle.policy)
    np.testing.assert_allclose(noise, oracle.expected_return, rtol=0, atol=1e-11)
    assert abs(returns.mean() - oracle.expected_return) < 3 * 0.1 * np.sqrt(17 / 200)


@pytest.mark.parametrize("n", [8, 12, 16])
def test_heuristic_against_exact_up_to_16(n):
    rng = np.random.default_rng(100 + n)
    for _ in range(3 if n < 16 else 1):
        p = random_params(rng, n, heuristic=True)
        oracle = make_oracle(p)                        # heuristic=True changes nothing up to 16 trades
        assert not oracle.bound_only and isinstance(oracle.policy, ValuePolicy)
        exact = held_karp(p.first_costs, p.costs)
        assert oracle.expected_return == -exact.cost
        heuristic = nearest_neighbour_two_opt(p.first_costs, p.costs)
        assert heuristic.cost >= exact.cost - 1e-12 and heuristic.cost == cost_of(p, heuristic.order)


# ----------------------------------------------------------------------------------------------- env


def test_check_env():
    env = BasketSequenceEnv(trades=5)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (10,) and env.observation_space.contains(obs)
    assert env.action_space == gym.spaces.Discrete(5)


def test_masked_and_invalid_actions_raise():
    env = BasketSequenceEnv(trades=6)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=1)
    env.step(3)
    env.step(np.int64(0))
    with pytest.raises(ValueError, match=r"action 3 is masked: trade 3 is already done; allowed: \[1, 2, 4, 5\]"):
        env.step(3)
    with pytest.raises(ValueError, match=r"action must be a trade in 0\.\.5"):
        env.step(6)
    with pytest.raises(ValueError, match=r"action must be a trade in 0\.\.5"):
        env.step(-1)
    with pytest.raises(ValueError, match=r"action must be integers for the action space Discrete\(6\), got 1\.0"):
        env.step(1.0)
    with pytest.raises(ValueError, match=r"action must be an integer"):
        env.step(np.array([1, 2]))
    for a in (1, 2, 4, 5):
        env.step(a)
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(0)
    venv = BasketSequenceVectorEnv(num_envs=3, trades=4)
    venv.reset(seed=0)
    venv.step(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"action 1 in slot 1 is masked: .*allowed: \[0, 2, 3\]"):
        venv.step(np.array([1, 1, 1]))
    with pytest.raises(ValueError, match=r"3 integers \(shape \(3,\)\)"):
        venv.step(np.array([1, 2]))


def test_action_masks_match_info_and_observation():
    env = BasketSequenceEnv(trades=7)
    assert env.action_masks().tolist() == [True] * 7      # before reset
    obs, info = env.reset(seed=4)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(env.action_masks(), info["action_mask"])
    assert info["action_mask"].all() and info["cost"] == 0.0 and not obs.any()
    p, total = env.params, 0.0
    last, terminated = -1, False
    while not terminated:
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, reward, terminated, truncated, info = env.step(action)
        total += p.first_costs[action] if last < 0 else p.costs[last, action]
        last = action
        assert not truncated
        np.testing.assert_array_equal(env.action_masks(), info["action_mask"])
        np.testing.assert_array_equal(info["action_mask"], obs[:7] == 0)
        assert obs[7:].tolist() == np.eye(7)[action].tolist()
        assert info["cost"] == pytest.approx(total, abs=1e-12)
    assert not info["action_mask"].any()
    venv = BasketSequenceVectorEnv(num_envs=3, trades=7)
    _, vinfo = venv.reset(seed=0)
    obs, *_, vinfo = venv.step(np.array([0, 1, 2]))
    np.testing.assert_array_equal(venv.action_masks(), vinfo["action_mask"])
    np.testing.assert_array_equal(vinfo["action_mask"], obs[:, :7] == 0)


def test_same_seed_same_episode_and_the_reward_formula():
    """Rewards are −(cost + σ·ξ_t) with ξ_t = standard_normals(key(seed, episode), t) for the t-th trade."""
    p = Params(trades=6)
    env = BasketSequenceEnv(params=p)
    order = [4, 1, 5, 0, 3, 2]

    def episode(seed=None):
        obs, info = env.reset(seed=seed)
        out = [(obs, info)]
        for a in order:
            out.append(env.step(a))
        return out

    a, b, c = episode(11), episode(11), episode(12)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u if not isinstance(u, dict) else u["action_mask"],
                                          v if not isinstance(v, dict) else v["action_mask"])
    rewards_a = np.array([s[1] for s in a[1:]])
    rewards_c = np.array([s[1] for s in c[1:]])
    assert not np.array_equal(rewards_a, rewards_c)
    steps = np.array([p.first_costs[order[0]]] + [p.costs[i, j] for i, j in zip(order, order[1:])])
    xi = standard_normals(np.repeat(episode_keys(np.array([11]), np.array([0])), 6), np.arange(1, 7))
    np.testing.assert_allclose(rewards_a, -(steps + 0.1 * xi), rtol=0, atol=1e-13)
    # a reset without a seed plays the next episode of the stream
    d = episode()
    xi1 = standard_normals(np.repeat(episode_keys(np.array([12]), np.array([1])), 6), np.arange(1, 7))
    np.testing.assert_allclose([s[1] for s in d[1:]], -(steps + 0.1 * xi1), rtol=0, atol=1e-13)


@pytest.mark.parametrize("num_envs, trades", [(1, 2), (4, 5), (3, 8), (2, 130)])
def test_vector_env_equals_sync_vector_env(num_envs, trades):
    rng = np.random.default_rng(trades)

    def choose(info):
        return np.array([rng.choice(np.flatnonzero(mask)) for mask in info["action_mask"]])

    assert_equals_sync_vector_env(BasketSequenceVectorEnv(num_envs=num_envs, trades=trades, instance_seed=3),
                                  lambda: BasketSequenceEnv(trades=trades, instance_seed=3),
                                  steps=4 * trades + 3, choose_actions=choose, seed=7)


def test_gym_make_and_make_vec():
    env = gym.make(ENV_ID, trades=5, cross_impact=0.2)
    assert isinstance(env.unwrapped, BasketSequenceEnv) and env.unwrapped.params == Params(trades=5, cross_impact=0.2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (10,)
    assert isinstance(gym.make("execgym:" + ENV_ID).unwrapped, BasketSequenceEnv)
    venv = gym.make_vec(ENV_ID, num_envs=3, trades=5)
    assert isinstance(venv, BasketSequenceVectorEnv) and venv.num_envs == 3 and venv.params.trades == 5
    obs, info = venv.reset(seed=0)
    assert obs.shape == (3, 10) and info["action_mask"].shape == (3, 5)
    assert venv.action_masks().shape == (3, 5)


def test_expected_return_identity_with_common_noise():
    """Σ reward = −C(order) − σ·Σ_t ξ_t with the same ξ for every policy: the noise term is identical across
    policies per seed, has mean zero (within the CI) and standard deviation σ·√n."""
    p = Params(trades=6, cost_noise=0.5, instance_seed=9)
    seeds = np.arange(20_000)
    rng = np.random.default_rng(1)
    policies = [make_oracle(p).policy, as_given(p), nearest_neighbour(p)]
    policies += [OrderPolicy(p, rng.permutation(6)) for _ in range(3)]
    noises = []
    for policy in policies:
        noises.append(play(p, seeds, policy) + cost_of(p, rollout_order(p, policy)))
    for noise in noises[1:]:
        np.testing.assert_allclose(noise, noises[0], rtol=0, atol=1e-11)
    noise = noises[0]
    assert abs(noise.mean()) <= 1.96 * noise.std(ddof=1) / np.sqrt(seeds.size)
    assert noise.std(ddof=1) == pytest.approx(0.5 * np.sqrt(6), rel=0.03)
    keys = episode_keys(seeds, np.zeros(seeds.size))
    xi = sum(standard_normals(keys, np.full(seeds.size, t)) for t in range(1, 7))
    np.testing.assert_allclose(noise, -0.5 * xi, rtol=0, atol=1e-11)
