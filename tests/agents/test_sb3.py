"""execgym.sb3, the bridge to stable-baselines3: the VecEnv adapter over native vector envs (SB3's semantics,
with the native env's numbers), wrap() for gym.make_vec, and trained models as suite policies."""

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecVideoRecorder

import execgym
import execgym.sb3
from execgym.agents.sb3 import build_model
from execgym.problems.basket_sequence.env import BasketSequenceVectorEnv
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.sb3 import NativeVecEnv, SB3Policy

TINY = {"n_steps": 8, "batch_size": 32, "n_epochs": 1}


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


def test_wrap_trains_plain_sb3_on_make_vec_and_score_takes_the_model_itself():
    venv = execgym.sb3.wrap(gym.make_vec("OptimalExec-v0", num_envs=8))
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=128, n_epochs=1, seed=0, device="cpu").learn(256)
    assert model.num_timesteps == 256
    by_model = execgym.score(model, "OptimalExec-v0", episodes=200, seed=3)
    by_policy = execgym.score(SB3Policy(model), "OptimalExec-v0", episodes=200, seed=3)
    assert by_model == by_policy and by_model.reference == "oracle"


def test_wrap_accepts_a_same_step_sync_vector_env_and_refuses_other_modes_saying_what_to_do():
    sync = gym.make_vec("OptimalExec-v0", num_envs=2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    adapter = execgym.sb3.wrap(sync)
    adapter.seed(1)
    obs = adapter.reset()
    expected, _ = OptimalExecVectorEnv(num_envs=2).reset(seed=1)
    np.testing.assert_array_equal(obs, expected)
    next_step = gym.make_vec("OptimalExec-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match=r"SAME_STEP.*got <AutoresetMode.NEXT_STEP.*gym.make_vec\(env_id, num_envs=n\)"):
        execgym.sb3.wrap(next_step)
    with pytest.raises(TypeError, match="single env .* DummyVecEnv"):
        execgym.sb3.wrap(gym.make("OptimalExec-v0"))


def test_as_policy_needs_an_env_id_only_for_maskable_models():
    ppo = build_model("ppo", NativeVecEnv(OptimalExecVectorEnv(num_envs=4)), TINY, seed=0)
    assert execgym.sb3.as_policy(ppo).action_masks is None
    maskable = build_model("maskable_ppo", NativeVecEnv(BasketSequenceVectorEnv(num_envs=4)), TINY, seed=0)
    with pytest.raises(ValueError, match="pass the env id"):
        execgym.sb3.as_policy(maskable)
    with pytest.raises(ValueError, match="OptimalExec-v0 masks no action"):
        execgym.sb3.as_policy(maskable, "OptimalExec-v0")
    policy = execgym.sb3.as_policy(maskable, "BasketSequence-v0", trades=8)
    obs = np.zeros((1, BasketSequenceVectorEnv().single_observation_space.shape[0]), dtype=np.float32)
    obs[0, :7] = 1.0                                 # trades 0..6 done: only trade 7 is allowed
    assert policy(obs).tolist() == [7]


@pytest.mark.slow
def test_the_core_imports_without_sb3_or_torch():
    code = ("import sys, execgym; "
            "print(sorted(m for m in ('torch', 'stable_baselines3', 'sb3_contrib', 'execgym.sb3') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                               cwd=Path(__file__).parents[2])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


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
