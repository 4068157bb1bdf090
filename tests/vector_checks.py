"""Shared checks for the envs: natively batched ones step for step equal to Gymnasium's SyncVectorEnv, infos
included; the expected rewards a policy collects over an episode."""

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from execgym.registry import problem


def assert_equals_sync_vector_env(native, make_scalar, steps, choose_actions, seed=5):
    """Run ``native`` and a SAME_STEP ``SyncVectorEnv`` of ``make_scalar()`` envs (or of ``make_scalar[i]()`` in
    slot i, given a list) side by side for ``steps`` steps from ``seed``; ``choose_actions(info)`` picks each
    batch of actions. Everything must be equal."""
    makers = make_scalar if isinstance(make_scalar, list) else [make_scalar] * native.num_envs
    sync = SyncVectorEnv(makers, autoreset_mode=AutoresetMode.SAME_STEP)
    a, ia = native.reset(seed=seed)
    b, ib = sync.reset(seed=seed)
    np.testing.assert_array_equal(a, b)
    assert ia.keys() == ib.keys()
    for _ in range(steps):
        actions = choose_actions(ia)
        a, ra, ta, _, ia = native.step(actions)
        b, rb, tb, _, ib = sync.step(actions)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ra, rb)
        np.testing.assert_array_equal(ta, tb)
        assert ia.keys() == ib.keys()
        for key in ia:
            if key == "final_obs":
                for i in np.flatnonzero(ib["_final_obs"]):
                    np.testing.assert_array_equal(ia[key][i], ib[key][i])
            elif key == "final_info":
                assert ia[key].keys() == ib[key].keys()
                for k in ia[key]:
                    np.testing.assert_array_equal(ia[key][k], ib[key][k], err_msg=k)
            else:
                np.testing.assert_array_equal(ia[key], ib[key], err_msg=key)


def random_actions(env, seed=1):
    """``choose_actions`` for :func:`assert_equals_sync_vector_env`: uniform draws a little beyond a Box
    action space (clipped by the env), or uniform integers of a discrete one (ignoring masks)."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    if isinstance(space, gym.spaces.Box):
        low, high = np.nan_to_num(space.low, neginf=-1.0), np.nan_to_num(space.high, posinf=1.0)
        return lambda info: rng.uniform(low - 0.1 * (high - low), high + 0.1 * (high - low)).astype(space.dtype)
    return lambda info: np.stack([rng.integers(0, n) for n in np.broadcast_to(space.nvec, space.shape).ravel()]
                                 ).reshape(space.shape)


def assert_market_per_slot_plays_scalar_envs(env_id, market_kwargs, steps, choose_actions=None, seed=5, shared=None):
    """A vector env of ``env_id`` with slot i in the market of ``market_kwargs[i]`` (keyword parameters over the
    id's defaults and ``shared``, the keyword parameters the env is made with) plays, for ``steps`` steps from
    ``seed``, exactly the episodes of scalar envs built with those markets (bit for bit, infos and autoresets
    included)."""
    shared = shared or {}
    markets = [problem(env_id).params(**{**shared, **kwargs}) for kwargs in market_kwargs]
    native = gym.make_vec(env_id, num_envs=len(markets), markets=markets, **shared)
    assert native.unwrapped.markets == tuple(markets)
    makers = [lambda market=market: problem(env_id).env_class(params=market) for market in markets]
    assert_equals_sync_vector_env(native, makers, steps, choose_actions or random_actions(native), seed=seed)


def assert_markets_set_at_reset(env_id, market_kwargs, steps, choose_actions=None, shared=None):
    """Markets set at reset for chosen slots (``options={"markets": {slot: market}}``, then a list) are those
    slots' markets afterwards, and the env then plays exactly as one built with those markets (keyword
    parameters over the id's defaults and ``shared``, the keyword parameters the envs are made with)."""
    shared = shared or {}
    markets = [problem(env_id).params(**{**shared, **kwargs}) for kwargs in market_kwargs]
    native = gym.make_vec(env_id, num_envs=len(markets), **shared)
    native.reset(seed=3, options={"markets": {1: markets[1]}})
    default = problem(env_id).params(**shared)
    assert native.unwrapped.markets == (default, markets[1], *[default] * (len(markets) - 2))
    native.reset(seed=3, options={"markets": markets})
    reference = gym.make_vec(env_id, num_envs=len(markets), markets=markets, **shared)
    a, _ = native.reset(seed=9)
    b, _ = reference.reset(seed=9)
    np.testing.assert_array_equal(a, b)
    choose = choose_actions or random_actions(native, seed=2)
    info = None
    for _ in range(steps):
        chosen = choose(info)
        a, ra, ta, _, info = native.step(chosen)
        b, rb, tb, _, _ = reference.step(chosen)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ra, rb)
        np.testing.assert_array_equal(ta, tb)


def expected_return_played(env, policy, seed: int) -> float:
    """The sum of ``info["expected_reward"]`` over one episode of the scalar ``env`` reset at ``seed``, ``policy``
    acting on each observation (as a batch of one)."""
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, _, done, _, info = env.step(policy(obs[None])[0])
        total += info["expected_reward"]
    return total
