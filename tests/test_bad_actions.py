"""Every env id, scalar and vector, refuses a missing action and actions of the wrong type with a ValueError naming
the action space: Box actions must be real numbers (no booleans, complex numbers or strings), Discrete and
MultiDiscrete actions integers (no floats, booleans or strings)."""

import gymnasium as gym
import numpy as np
import pytest

import execgym  # noqa: F401 - registers the env ids
from execgym.registry import PROBLEMS

CONFIGURATIONS = [(env_id, {}) for env_id in PROBLEMS] + [("MarketMaking-v0", {"tick_size": 0.25})]
IDS = [env_id + (" (ticks)" if kwargs else "") for env_id, kwargs in CONFIGURATIONS]

REAL_BAD = {"True": True, "bool array": np.array([True]), "complex": 0.5 + 0.5j, "numeric string": "0.5",
            "string array": np.array(["0.5"]), "object": object()}
INTEGER_BAD = {"non-integral float": 1.5, "integral float": 1.0, "True": True, "bool array": np.array([True]),
               "string": "1", "complex": 1 + 0j}


def make(env_id: str, kwargs: dict, vector: bool):
    return gym.make_vec(env_id, num_envs=2, **kwargs) if vector else gym.make(env_id, **kwargs).unwrapped


def batched(env, value) -> np.ndarray:
    """An array of ``value``'s dtype shaped as one action of ``env``, or a batch of them for a vector env."""
    vector = hasattr(env, "num_envs")
    space = env.single_action_space if vector else env.action_space
    shape = ((env.num_envs,) if vector else ()) + space.shape
    return np.full(shape, np.asarray(value).reshape(-1)[0], dtype=np.asarray(value).dtype)


@pytest.mark.parametrize("vector", [False, True], ids=["scalar", "vector"])
@pytest.mark.parametrize("env_id, kwargs", CONFIGURATIONS, ids=IDS)
def test_missing_action_says_so(env_id, kwargs, vector):
    env = make(env_id, kwargs, vector)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action is missing \(got None\): the action space .* needs an action"):
        env.step(None)


@pytest.mark.parametrize("vector", [False, True], ids=["scalar", "vector"])
@pytest.mark.parametrize("env_id, kwargs", CONFIGURATIONS, ids=IDS)
def test_actions_of_the_wrong_type_raise_naming_the_space(env_id, kwargs, vector):
    env = make(env_id, kwargs, vector)
    env.reset(seed=0)
    space = env.single_action_space if vector else env.action_space
    integer = isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete))
    wanted = "integers" if integer else r"real numbers \(floats or integers\)"
    name = type(space).__name__
    for value in (INTEGER_BAD if integer else REAL_BAD).values():
        for action in (value, batched(env, value)):       # as given, and shaped as the space's actions
            with pytest.raises(ValueError, match=rf"action must be {wanted} for the action space {name}"):
                env.step(action)
    if not vector:                                         # the env still steps (trade 0 is not masked at the start)
        env.step(np.zeros(space.shape, dtype=space.dtype))
