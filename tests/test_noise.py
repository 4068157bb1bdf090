"""The counter-based noise: deterministic, standard normal, and independent across steps and seeds."""

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

import execgym  # noqa: F401  (registers the envs)
from execgym.noise import episode_key, episode_keys, episode_normals, standard_normals, uniforms


def test_same_inputs_give_same_draws_and_different_inputs_differ():
    keys = episode_keys(np.arange(5), np.zeros(5))
    assert np.array_equal(standard_normals(keys, np.arange(5)), standard_normals(keys, np.arange(5)))
    assert len(set(keys.tolist())) == 5
    assert not np.array_equal(episode_keys(np.arange(5), np.ones(5)), keys)


def test_normals_pass_kolmogorov_smirnov_and_moments():
    keys = episode_keys(np.arange(200_000), np.zeros(200_000))
    draws = standard_normals(keys, np.zeros(200_000, dtype=np.int64))
    assert stats.kstest(draws, "norm").pvalue > 1e-3
    assert abs(draws.mean()) < 5 / np.sqrt(draws.size)
    assert abs(draws.var() - 1.0) < 0.02


def test_draws_are_uncorrelated_across_steps_seeds_and_streams():
    n = 100_000
    keys = episode_keys(np.arange(n), np.zeros(n))
    step0, step1 = standard_normals(keys, np.zeros(n, np.int64)), standard_normals(keys, np.ones(n, np.int64))
    other_stream = standard_normals(keys, np.zeros(n, np.int64), stream=1, streams=2)
    bound = 4.5 / np.sqrt(n)
    assert abs(np.corrcoef(step0, step1)[0, 1]) < bound
    assert abs(np.corrcoef(step0[:-1], step0[1:])[0, 1]) < bound   # neighbouring seeds
    assert abs(np.corrcoef(step0, other_stream)[0, 1]) < bound


def test_uniforms_lie_strictly_inside_the_unit_interval():
    u = uniforms(episode_keys(np.arange(10_000), np.zeros(10_000)), np.arange(10_000))
    assert u.min() > 0.0 and u.max() < 1.0


@pytest.mark.parametrize("seed", [-1, 1.5, "a"])
def test_invalid_seeds_raise(seed):
    with pytest.raises(ValueError, match="seed"):
        episode_keys(np.array([seed]), np.zeros(1))


def test_normal_quantile_is_as241_and_agrees_with_scipy_to_rounding():
    from statistics import NormalDist

    from scipy.special import ndtri

    from execgym.noise import normal_quantile
    p = np.concatenate([[2.0**-54, 1e-300, 1e-20, 1e-9, 0.0749, 0.075, 0.075000001, 0.5, 0.924999, 0.925,
                         0.9999999, 1 - 2.0**-53], np.linspace(1e-6, 1 - 1e-6, 997)])
    z = np.array([normal_quantile(x) for x in p])
    np.testing.assert_allclose(z, [NormalDist().inv_cdf(x) for x in p], rtol=4e-16, atol=1e-300)
    np.testing.assert_allclose(z, ndtri(p), rtol=2e-15, atol=1e-300)


def test_batched_normals_equal_the_per_element_quantile_bit_for_bit():
    from execgym.noise import normal_quantile, uniform_draw
    keys = episode_keys(np.arange(3000), np.zeros(3000))
    batched = standard_normals(keys, 7, stream=1, streams=3)
    one_by_one = [normal_quantile(uniform_draw(key, np.uint64(7 * 3 + 1))) for key in keys]
    np.testing.assert_array_equal(batched, one_by_one)
    np.testing.assert_array_equal(standard_normals(keys[:, None], np.arange(4)),
                                  np.stack([standard_normals(keys, step) for step in range(4)], axis=1))


def test_one_episodes_key_and_normals_equal_the_array_forms():
    seeds = np.array([0, 7, 2**63 + 5], dtype=np.uint64)
    episodes = np.array([0, 3, 11], dtype=np.uint64)
    keys = episode_keys(seeds, episodes)
    assert [episode_key(s, e) for s, e in zip(seeds, episodes)] == keys.tolist()
    for key in keys:
        steps = np.arange(2, 9)
        np.testing.assert_array_equal(episode_normals(key, 2, 7, 1, 3),
                                      standard_normals(np.full(7, key), steps, stream=1, streams=3))


def test_a_scalar_env_refuses_a_seed_beyond_uint64():
    with pytest.raises(ValueError, match="seed must be an integer"):
        gym.make("OptimalExec-v0").reset(seed=2**64 + 1)
