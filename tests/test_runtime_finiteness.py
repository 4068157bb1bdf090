"""The envs check at reset and at every step that observations and rewards are finite, and otherwise raise a
RuntimeError naming the env, the slot, what was not finite and the parameters."""

import numpy as np
import pytest

from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.problems.optimal_exec.params import OptimalExecParams


def beyond_range(**fields) -> OptimalExecParams:
    """Valid default params with ``fields`` then forced past validation (as no constructor allows)."""
    params = OptimalExecParams()
    for name, value in fields.items():
        object.__setattr__(params, name, value)
    return params


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")   # into the scalar env's float32 observation
@pytest.mark.parametrize("env_class", [OptimalExecEnv, lambda params: OptimalExecVectorEnv(3, params)])
def test_a_non_finite_observation_raises_naming_the_env_and_entry(env_class):
    env = env_class(beyond_range(volatility=1e-300))     # the observed price move divided by σ√T overflows
    env.reset(seed=0)
    vector = not isinstance(env, OptimalExecEnv)
    name = "OptimalExecVectorEnv" if vector else "OptimalExecEnv"
    slot = r" in slot 0" if vector else ""
    with pytest.raises(RuntimeError, match=rf"{name}\.step produced a non-finite observation entries \[2\] of "
                                           rf"\[.*\]{slot}, beyond float64's range, with the parameters "
                                           r"OptimalExecParams\(shares=1000000\.0, .*volatility=1e-300"):
        env.step(np.zeros((3, 1) if vector else 1, dtype=np.float32))


def test_a_non_finite_reward_raises_naming_the_reward():
    env = OptimalExecEnv(beyond_range(temporary_impact=1e300))    # the impact cost of the first trade overflows
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match=r"OptimalExecEnv\.step produced a non-finite reward -inf, beyond "):
        env.step(np.ones(1, dtype=np.float32))


def test_a_vector_env_raises_for_a_non_finite_reward_naming_the_slot():
    env = OptimalExecVectorEnv(3, beyond_range(temporary_impact=1e300))
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match=r"OptimalExecVectorEnv\.step produced a non-finite reward -inf in slot 0, "):
        env.step(np.ones((3, 1), dtype=np.float32))


@pytest.mark.parametrize(("entry", "finite"), [(2.0, True), (np.inf, False), (-np.inf, False), (np.nan, False),
                                                (np.float32(3e38), True), (-1e-45, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_check_of_what_a_loop_wrote_finds_any_non_finite_entry(entry, finite, dtype):
    import numba

    from execgym.engine import all_finite
    check = numba.njit(lambda values: all_finite(values))
    values = np.zeros((37, 5), dtype=dtype)        # more entries than one vector register, and a remainder
    assert check(values) is True
    for row, column in [(0, 0), (18, 3), (36, 4)]:
        written = values.copy()
        written[row, column] = entry
        assert check(written) is finite
        assert check(written[row]) is finite
