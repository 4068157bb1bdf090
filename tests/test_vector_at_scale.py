"""Every env's native vector env at 16,384 slots plays, slot for slot, the episodes of scalar envs on the same seeds."""

import gymnasium as gym
import numpy as np
import pytest

import execgym
from execgym.registry import PROBLEMS

SLOTS = 16_384
SAMPLE = [0, 1, 4_097, 12_345, SLOTS - 1]
STEPS = 30


@pytest.mark.parametrize("env_id", sorted(PROBLEMS))
def test_sampled_slots_of_a_16384_slot_vector_env_equal_scalar_envs(env_id):
    """The oracle acts (valid actions in every env, masked ones included); the sampled slots' observations, rewards
    and terminations equal those of scalar envs reset with seed + slot, across autoresets."""
    policy = execgym.make_oracle(env_id).policy
    venv = gym.make_vec(env_id, num_envs=SLOTS)
    obs, _ = venv.reset(seed=7)
    rows = {"obs": [obs[SAMPLE]], "reward": [], "terminated": []}
    for _ in range(STEPS):
        obs, reward, terminated, _, _ = venv.step(policy(obs))
        rows["obs"].append(obs[SAMPLE])
        rows["reward"].append(reward[SAMPLE])
        rows["terminated"].append(terminated[SAMPLE])
    for column, slot in enumerate(SAMPLE):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=7 + slot)
        np.testing.assert_array_equal(obs, rows["obs"][0][column])
        for t in range(STEPS):
            obs, reward, terminated, _, _ = env.step(policy(obs[None])[0])
            assert reward == rows["reward"][t][column] and terminated == rows["terminated"][t][column], (slot, t)
            if terminated:
                obs, _ = env.reset()
            np.testing.assert_array_equal(obs, rows["obs"][t + 1][column])
