"""The SB3 VecEnv adapter over native vector envs: SB3's semantics, with the native env's numbers."""

import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecVideoRecorder

from execgym.agents.sb3 import NativeVecEnv, SB3Policy, build_model
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv


def test_steps_match_the_native_env_and_terminal_observations_follow_sb3_semantics():
    n, periods = 4, 3
    adapter = NativeVecEnv(OptimalExecVectorEnv(num_envs=n, periods=periods))
    native = OptimalExecVectorEnv(num_envs=n, periods=periods)
    adapter.seed(7)
    obs = adapter.reset()
    expected, _ = native.reset(seed=7)
    np.testing.assert_array_equal(obs, expected)
    actions = np.zeros((n, 1), dtype=np.float32)
    for step in range(periods):
        adapter.step_async(actions)
        obs, rewards, dones, infos = adapter.step_wait()
        expected, native_rewards, terminated, _, info = native.step(actions)
        np.testing.assert_array_equal(obs, expected)
        np.testing.assert_allclose(rewards, native_rewards.astype(np.float32))
        np.testing.assert_array_equal(dones, terminated)
    assert dones.all() and len(infos) == n
    for i, adapted in enumerate(infos):
        np.testing.assert_array_equal(adapted["terminal_observation"], info["final_obs"][i])
        assert adapted["terminal_observation"][0] == 0.0 and adapted["TimeLimit.truncated"] is False
        assert adapted["shortfall"] == info["final_info"]["shortfall"][i]
        assert adapted["inventory"] == 0.0
    assert not np.array_equal(obs, info["final_obs"])      # the returned observations are the new episodes'
    scalar = OptimalExecEnv(periods=periods)
    scalar.reset(seed=7 + 2)
    for _ in range(periods):
        final, *_, scalar_info = scalar.step(actions[2])
    np.testing.assert_array_equal(infos[2]["terminal_observation"], final)
    assert infos[2]["shortfall"] == scalar_info["shortfall"]


def test_running_episodes_share_one_read_only_empty_info():
    adapter = NativeVecEnv(OptimalExecVectorEnv(num_envs=3))
    adapter.reset()
    adapter.step_async(np.zeros((3, 1), dtype=np.float32))
    _, _, dones, infos = adapter.step_wait()
    assert not dones.any() and infos[0] is infos[1] is infos[2] and dict(infos[0]) == {}
    with pytest.raises(TypeError):
        infos[0]["x"] = 1


def test_per_env_methods_are_refused_with_a_reason_and_attributes_are_shared():
    adapter = NativeVecEnv(OptimalExecVectorEnv(num_envs=2, periods=5))
    with pytest.raises(ValueError, match="no per-env instances"):
        adapter.env_method("render")
    assert [p.periods for p in adapter.get_attr("params")] == [5, 5]
    assert adapter.env_is_wrapped(object) == [False, False]


def test_a_trained_model_acts_deterministically_as_a_suite_policy():
    adapter = NativeVecEnv(OptimalExecVectorEnv(num_envs=4))
    model = build_model("ppo", adapter, {"n_steps": 8, "batch_size": 32, "n_epochs": 1}, seed=0)
    policy = SB3Policy(model)
    obs = np.array([[1.0, 1.0, 0.0], [0.5, 0.3, -1.0]], dtype=np.float32)
    first, second = policy(obs), policy(obs)
    assert first.shape == (2, 1) and (np.abs(first) <= 1).all()
    np.testing.assert_array_equal(first, second)


def test_images_are_the_native_frames_and_vec_video_recorder_records_them(tmp_path):
    adapter = NativeVecEnv(OptimalExecVectorEnv(num_envs=2, periods=3, render_mode="rgb_array"))
    assert adapter.render_mode == "rgb_array"
    adapter.reset()
    images = adapter.get_images()
    np.testing.assert_array_equal(images[1], adapter.env.render()[1])
    recorder = VecVideoRecorder(adapter, str(tmp_path / "videos"), record_video_trigger=lambda step: step == 0,
                                video_length=3)
    recorder.reset()
    for _ in range(4):
        recorder.step(np.zeros((2, 1), dtype=np.float32))
    recorder.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
