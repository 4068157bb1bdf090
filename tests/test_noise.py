"""The counter-based noise: deterministic, standard normal, and independent across steps and seeds."""

import numpy as np
import pytest
from scipy import stats

from execgym.noise import episode_keys, standard_normals, uniforms


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
