"""Expected rewards: each step's reward given the state and the action, with the price shock's term removed. Its
episode sums have the env's expected return for any policy that does not see the future, with less variance."""

import gymnasium as gym
import numpy as np
import pytest
import scipy.stats

import execgym
from execgym.experiments.config import ConfigError, parse_config
from execgym.wrappers import ExpectedRewards, ExpectedVectorRewards


def price_chaser(observations):
    """Sells more after the price rose: a policy that reacts to the noise (an unbiased estimate must hold for it)."""
    return np.clip(-0.6 + 3.0 * observations[:, 2:3], -1.0, 1.0).astype(np.float32)


@pytest.mark.parametrize("env_id, params", [("OptimalExec-v0", {"drift": 0.4}),
                                            ("OptimalExecMeanReverting-v0", {}),
                                            ("OptimalExecTransient-v0", {"drift": 0.4})])
def test_the_reward_minus_the_expected_reward_is_the_shock_term(env_id, params):
    env = gym.make(env_id, **params)
    p = env.unwrapped.params
    env.reset(seed=5)
    price = p.arrival_price
    for _ in range(p.periods):
        _, reward, terminated, _, info = env.step(np.array([-0.3], dtype=np.float32))
        expected_move = ((p.reversion_factor - 1.0) * (price - p.long_run_price) + p.drift * p.tau
                         - p.side_sign * p.permanent_impact * info["shares_traded"])
        shock_term = p.side_sign * (info["price"] - price - expected_move) * info["inventory"] * p.bps_per_currency
        assert reward - info["expected_reward"] == pytest.approx(shock_term, rel=1e-9, abs=1e-9)
        price = info["price"]
    assert terminated


def test_expected_returns_are_unbiased_for_a_policy_that_reacts_to_prices_and_less_noisy():
    venv = gym.make_vec("OptimalExec-v0", num_envs=1000, markets="test")
    expected = ExpectedVectorRewards(gym.make_vec("OptimalExec-v0", num_envs=1000, markets="test"))
    plain, smooth = [], []
    for env, out in ((venv, plain), (expected, smooth)):
        observations, _ = env.reset(seed=11)
        totals, done = np.zeros(1000), np.zeros(1000, dtype=bool)
        while not done.all():
            observations, reward, terminated, truncated, _ = env.step(price_chaser(observations))
            totals += np.where(done, 0.0, reward)
            done |= terminated | truncated
        out.extend(totals)
    plain, smooth = np.array(plain), np.array(smooth)
    difference = plain - smooth               # the same episodes: the shock terms' sums, mean zero
    assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(difference.size)
    assert smooth.std() < 0.5 * plain.std()


@pytest.mark.parametrize("env_id, steps", [("OptimalExec-v0", {"periods": 4}), ("MarketMaking-v0", {"steps": 5}),
                                           ("LimitOrMarket-v0", {"deadline": 4}), ("TwapVwapSwitch-v0", {}),
                                           ("PortfolioExec-v0", {"periods": 4})])
def test_vector_slots_equal_the_scalar_env_across_autoresets(env_id, steps):
    vector = ExpectedVectorRewards(gym.make_vec(env_id, num_envs=3, markets="train", **steps))
    vector.single_action_space.seed(1)
    actions = [vector.single_action_space.sample() for _ in range(30)]
    vector.reset(seed=20)
    rewards = np.array([vector.step(np.stack([action] * 3))[1] for action in actions])
    for slot in range(3):
        scalar = ExpectedRewards(gym.make(env_id, markets="train", **steps))
        scalar.reset(seed=20 + slot)
        scalar_rewards = []
        for action in actions:
            _, reward, terminated, _, _ = scalar.step(action)
            scalar_rewards.append(reward)
            if terminated:
                scalar.reset()
        np.testing.assert_array_equal(rewards[:, slot], scalar_rewards)


def test_expected_rewards_are_for_sb3_agents_in_configs():
    data = {"env": {"id": "OptimalExec-v0"}, "agent": {"algo": "qlearning", "expected_rewards": True},
            "training": {"total_steps": 100, "eval_every": 50}}
    with pytest.raises(ConfigError, match="expected_rewards applies to"):
        parse_config(data)


def test_an_expected_utility_beyond_float64_is_refused_naming_its_slot():
    """Bid at the mid, ask out of reach, no penalties: the inventory piles up to q ~ 20 with a modest profit, whose
    utility is finite, but at γ = 10 the last step's price risk, E[e^{−γq'ΔS}] = e^{γ²q'²σ²dt/2} ~ e^{4000}, puts
    the expected utility below −1.8e308 in slot 1; at γ = 0.01 in slot 0 it is finite."""
    env = ExpectedVectorRewards(gym.make_vec(
        "MarketMaking-v0", num_envs=2, objective="cara", risk_aversion=10.0, steps=20, inventory_penalty=0.0,
        terminal_penalty=0.0, max_inventory=30, markets=[{"risk_aversion": 0.01}, {}]))
    env.reset(seed=0)
    quotes = np.tile(np.array([-1.0, 1.0], dtype=np.float32), (2, 1))
    for _ in range(19):
        env.step(quotes)
    with pytest.raises(ValueError, match="expected reward of slot 1 is -inf"):
        env.step(quotes)


def test_portfolio_rewards_minus_expected_rewards_are_the_shocks_term():
    env = gym.make("PortfolioExec-v0")
    p = env.unwrapped.params
    _, info = env.reset(seed=9)
    prices = np.asarray(info["prices"], dtype=float)
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.full(env.action_space.shape, 0.2, dtype=np.float32))
        expected_move = -p.gamma @ info["shares_traded"]
        shock_moves = info["prices"] - prices - expected_move
        shock_term = float(shock_moves @ info["holdings"]) * p.bps_per_currency
        assert reward - info["expected_reward"] == pytest.approx(shock_term, rel=1e-9, abs=1e-9)
        prices = np.asarray(info["prices"], dtype=float)


def test_a_baskets_expected_reward_is_minus_the_trades_expected_cost():
    env = gym.make("BasketSequence-v0")
    _, info = env.reset(seed=2)
    noise = []
    for _ in range(env.unwrapped.params.trades):
        action = int(np.flatnonzero(info["action_mask"])[-1])
        _, reward, terminated, _, info = env.step(action)
        assert info["expected_reward"] == -info["trade_cost"]
        noise.append(reward - info["expected_reward"])
    assert terminated and np.std(noise) > 0


def market_making_expected_rewards(env_id, params, actions, seed=4):
    """(info["expected_reward"], the expectation computed here) of each step of one MarketMaking episode playing
    ``actions`` (bid, ask) in turn: fills enumerated with params.fill_probabilities' numpy arithmetic, the price
    move's mean μ·dt and, under "cara", its moment generating function by Gauss–Hermite quadrature (gaussian) or
    its two values (binomial)."""
    env = gym.make(env_id, **params)
    p = env.unwrapped.params
    _, info = env.reset(seed=seed)
    reported, computed = [], []
    if p.price_shocks == "gaussian":
        shocks, weights = np.polynomial.hermite_e.hermegauss(80)
        weights = weights / weights.sum()
    else:
        shocks, weights = np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    for n in range(p.steps):
        action = np.asarray(actions[n % len(actions)], dtype=np.float32)
        q, profit = int(info["inventory"]), info["profit"]
        depths = (action.astype(np.float64) + 1.0) / 2.0 * p.max_depth
        fill = p.fill_probabilities(depths) * np.array([q < p.max_inventory, q > -p.max_inventory])
        last = n == p.steps - 1
        penalty = p.inventory_penalty * p.dt + (p.terminal_penalty if last else 0.0)
        value = 0.0
        for bid in (0, 1):
            for ask in (0, 1):
                probability = (fill[0] if bid else 1 - fill[0]) * (fill[1] if ask else 1 - fill[1])
                after = q + bid - ask
                moves = p.drift * p.dt + p.volatility * np.sqrt(p.dt) * shocks
                gains = depths[0] * bid + depths[1] * ask + after * moves - penalty * after**2
                if p.objective == "cara":
                    utility = -np.expm1(-p.risk_aversion * (profit + gains)) / p.risk_aversion
                    value += probability * (weights @ utility) if last else 0.0
                else:
                    value += probability * (weights @ gains)
        _, _, terminated, _, info = env.step(action)
        reported.append(info["expected_reward"])
        computed.append(value)
    assert terminated
    return np.array(reported), np.array(computed)


QUOTES = [(-0.8, 0.4), (0.3, -0.9), (-1.0, -1.0), (1.0, 0.2), (-0.2, -0.5)]


@pytest.mark.parametrize("params", [
    {"drift": 3.0, "steps": 40, "max_inventory": 2},
    {"fill_probability": "linear", "steps": 30, "arrival_rate": 20.0, "inventory_penalty": 1.5},
    {"objective": "cara", "risk_aversion": 0.3, "steps": 12, "drift": -2.0},
    {"objective": "cara", "risk_aversion": 0.5, "steps": 9, "price_shocks": "binomial", "max_inventory": 1}])
def test_a_market_makers_expected_reward_averages_its_fills_and_price_move(params):
    reported, computed = market_making_expected_rewards("MarketMaking-v0", params, QUOTES)
    np.testing.assert_allclose(reported, computed, rtol=1e-12, atol=1e-12)
    if params.get("objective") == "cara":
        assert np.all(reported[:-1] == 0.0) and reported[-1] != 0.0


def test_a_market_makers_expected_returns_are_unbiased_and_less_noisy():
    venv = gym.make_vec("MarketMaking-v0", num_envs=2000)
    oracle = execgym.make_oracle("MarketMaking-v0")
    totals = {}
    for name, env in (("realised", venv), ("expected", ExpectedVectorRewards(gym.make_vec("MarketMaking-v0",
                                                                                          num_envs=2000)))):
        observations, _ = env.reset(seed=8)
        total, done = np.zeros(2000), np.zeros(2000, dtype=bool)
        while not done.all():
            observations, reward, terminated, truncated, _ = env.step(oracle.policy(observations))
            total += np.where(done, 0.0, reward)
            done |= terminated | truncated
        totals[name] = total
    expected = totals["expected"]
    assert abs(expected.mean() - oracle.expected_return) < 4 * expected.std() / np.sqrt(expected.size)
    assert expected.std() < 0.3 * totals["realised"].std()


@pytest.mark.parametrize("params", [{}, {"adverse_selection": 0.5, "drift": 0.1, "book_lots": 2, "deadline": 4},
                                    {"lots": 7, "deadline": 3, "max_depth": 3}])
def test_a_limit_or_market_orders_expected_reward_averages_its_move_and_fills(params):
    """Against binomial fills enumerated with scipy and the params' tables, on episodes that try every action."""
    env = gym.make("LimitOrMarket-v0", **params)
    p = env.unwrapped.params
    moves, move_probabilities = np.array([-1, 0, 1]), p.move_probabilities
    fills = p.conditional_fill_probabilities(moves)                  # (3, L + 1)
    cost = lambda lots: lots * p.half_spread + p.walk_ticks(lots)    # noqa: E731
    actions = env.action_space.n
    for episode in range(2 * actions):
        _, info = env.reset(seed=episode)
        terminated, t = False, 0
        while not terminated:
            n, action, last = int(info["lots_left"]), (episode + t) % actions, t + 1 == p.deadline
            if action < p.depths:
                filled = np.arange(n + 1)
                value = 0.0
                for m, probability, fill in zip(moves, move_probabilities, fills[:, action]):
                    pmf = scipy.stats.binom.pmf(filled, n, fill)
                    held = n - filled
                    outcome = filled * (p.half_spread + action) + held * m - (cost(held) if last else 0.0)
                    value += probability * (pmf @ outcome)
            else:
                chosen = int(p.market_lots(n)[action - p.depths])
                held = n - chosen
                value = -cost(chosen) + held * (moves @ move_probabilities) - (cost(held) if last else 0.0)
            _, _, terminated, _, info = env.step(action)
            assert info["expected_reward"] == pytest.approx(value * p.lot_bps, rel=1e-12, abs=1e-12)
            t += 1


def test_a_buckets_expected_reward_is_its_reward_without_the_price_moves_term():
    env = gym.make("TwapVwapSwitch-v0", pov_rate=0.1, risk_aversion=0.02, volatility=5.0)
    _, info = env.reset(seed=3)
    terminated, t = False, 0
    while not terminated:
        price = info["price"]
        _, reward, terminated, _, info = env.step(t % 3)
        assert reward - info["expected_reward"] == pytest.approx(info["remaining"] * (info["price"] - price),
                                                                 rel=1e-12, abs=1e-12)
        t += 1


def test_envs_that_do_not_report_expected_rewards_get_a_clear_error():
    sync = gym.make_vec("OptimalExec-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="does not report the expected reward"):
        ExpectedVectorRewards(sync)
    with pytest.raises(ValueError, match="does not report the expected reward"):
        ExpectedRewards(gym.make("CartPole-v1"))
