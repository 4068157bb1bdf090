"""MaskablePPO on BasketSequence-v0: masks from the native vector env in training, from observations in
scoring, and clear refusals where an algorithm does not fit an env's masks."""

import json
from functools import partial

import numpy as np
import pytest
import torch
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.vec_env import VecMonitor

from execgym.agents.sb3 import build_model, load_model
from execgym import make_oracle, score
from execgym.problems.basket_sequence.env import BasketSequenceVectorEnv
from execgym.problems.optimal_exec.env import OptimalExecVectorEnv
from execgym.registry import PROBLEMS, problem
from execgym.sb3 import NativeVecEnv, SB3Policy
from execgym.experiments.config import ConfigError, parse_config
from execgym.experiments.run import run_experiment
from execgym.experiments.tensorboard_log import read_scalars
from execgym.experiments.trainers import load_policy

TINY = {"n_steps": 8, "batch_size": 32, "n_epochs": 1}


def basket_adapter(num_envs=4, **params):
    return VecMonitor(NativeVecEnv(BasketSequenceVectorEnv(num_envs=num_envs, **params)))


def test_masks_come_from_one_native_call_through_vec_monitor_and_follow_the_episodes():
    env = basket_adapter(num_envs=3, trades=4)
    native = env.venv.env
    env.seed(5)
    env.reset()
    assert is_masking_supported(env)
    np.testing.assert_array_equal(get_action_masks(env), np.ones((3, 4), dtype=bool))
    for actions in ([0, 1, 2], [1, 2, 3], [2, 3, 0]):
        env.step(np.array(actions))
        masks = env.env_method("action_masks")
        assert masks.shape == (3, 4) and masks.dtype == bool
        np.testing.assert_array_equal(masks, native.action_masks())
        np.testing.assert_array_equal(get_action_masks(env), masks)
    np.testing.assert_array_equal(masks, [[False, False, False, True], [True, False, False, False],
                                          [False, True, False, False]])
    np.testing.assert_array_equal(env.env_method("action_masks", indices=[2, 0]), masks[[2, 0]])
    np.testing.assert_array_equal(env.env_method("action_masks", indices=1), masks[[1]])
    env.step(np.array([3, 0, 1]))                     # every episode ends and restarts: all trades allowed
    np.testing.assert_array_equal(env.env_method("action_masks"), np.ones((3, 4), dtype=bool))


def test_an_env_without_masks_reports_none_and_other_methods_stay_refused():
    env = VecMonitor(NativeVecEnv(OptimalExecVectorEnv(num_envs=2)))
    assert not is_masking_supported(env)
    with pytest.raises(AttributeError):
        env.env_method("action_masks")
    with pytest.raises(ValueError, match="no per-env instances"):
        basket_adapter().env_method("render")


def test_the_problem_masks_from_observations_match_the_env_masks_and_exist_exactly_for_masked_envs():
    for spec in PROBLEMS.values():
        assert (spec.action_masks is not None) == hasattr(spec.vector_env_class, "action_masks"), spec.env_id
    spec = problem("BasketSequence-v0")
    env = BasketSequenceVectorEnv(num_envs=16)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(2 * env.params.trades):
        np.testing.assert_array_equal(spec.action_masks(env.params, obs), env.action_masks())
        masks = env.action_masks()
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in masks])
        obs, *_ = env.step(actions)


def biased_model(trade: int):
    """An untrained MaskablePPO whose unmasked choice is always ``trade``."""
    model = build_model("maskable_ppo", basket_adapter(), TINY, seed=0)
    with torch.no_grad():
        model.policy.action_net.weight.zero_()
        model.policy.action_net.bias.zero_()
        model.policy.action_net.bias[trade] = 10.0
    return model


def test_a_maskable_policy_never_picks_a_masked_trade_and_scores_against_the_oracle():
    model = biased_model(0)
    params = problem("BasketSequence-v0").params()
    masks = partial(problem("BasketSequence-v0").action_masks, params)
    policy = SB3Policy(model, action_masks=masks)
    env = BasketSequenceVectorEnv(num_envs=8)
    obs, _ = env.reset(seed=0)
    for step in range(params.trades):
        unmasked, _ = model.predict(obs, deterministic=True)
        actions = policy(obs)
        assert (unmasked == 0).all()                     # from the 2nd trade on, trade 0 is done: refused
        assert env.action_masks()[np.arange(8), actions].all()
        assert step == 0 or (actions != 0).all()
        obs, *_ = env.step(actions)
    result = score(policy, "BasketSequence-v0", episodes=20, seed=0)
    assert result.oracle_return == pytest.approx(make_oracle("BasketSequence-v0").expected_return)
    assert result.regret.mean >= -1e-9                  # paired on common noise: the oracle is never beaten


def test_clear_refusals_where_the_algorithm_does_not_fit_the_masks():
    for algo in ("ppo", "trpo"):
        with pytest.raises(ValueError, match="masks actions .* use maskable_ppo"):
            build_model(algo, basket_adapter(), {"n_steps": 8, "batch_size": 32}, seed=0)
        with pytest.raises(ConfigError, match="agent.algo: BasketSequence-v0 masks actions"):
            parse_config({"env": {"id": "BasketSequence-v0"}, "agent": {"algo": algo},
                          "training": {"total_steps": 10, "eval_every": 10}})
    with pytest.raises(ValueError, match="maskable_ppo needs an env whose actions are masked"):
        build_model("maskable_ppo", NativeVecEnv(OptimalExecVectorEnv(num_envs=4)), TINY, seed=0)
    with pytest.raises(ConfigError, match="OptimalExec-v0 has no masks .* use ppo or trpo"):
        parse_config({"env": {"id": "OptimalExec-v0"}, "agent": {"algo": "maskable_ppo"},
                      "training": {"total_steps": 10, "eval_every": 10}})
    with pytest.raises(ValueError, match="acts with action masks: pass action_masks="):
        SB3Policy(biased_model(0))
    ppo = build_model("ppo", NativeVecEnv(OptimalExecVectorEnv(num_envs=4)), TINY, seed=0)
    with pytest.raises(ValueError, match="PPO does not act with action masks"):
        SB3Policy(ppo, action_masks=lambda obs: np.ones((len(obs), 1), dtype=bool))


def test_a_tiny_run_trains_scores_and_its_checkpoint_acts_the_same_after_loading(tmp_path):
    config = parse_config({"env": {"id": "BasketSequence-v0", "params": {"trades": 6}},
                           "agent": {"algo": "maskable_ppo", "num_envs": 8, "hyperparameters": TINY},
                           "training": {"total_steps": 256, "eval_every": 128, "eval_episodes": 50},
                           "output": str(tmp_path / "run")})
    aggregate = run_experiment(config)
    folder = config.output / "seed_0"
    result = json.loads((folder / "result.json").read_text())
    assert result["steps"] == 256 and [p["steps"] for p in result["curve"]] == [128, 256]
    assert result["final"]["oracle_return"] == pytest.approx(make_oracle("BasketSequence-v0", trades=6).expected_return)
    assert result["final"]["regret"] >= -1e-9 and np.isfinite(aggregate["regret_pct_mean"])
    assert (folder / "summary.md").stat().st_size > 0 and not (folder / "trajectory.png").exists()
    scalars = read_scalars(folder / "tensorboard")
    assert [step for step, _ in scalars["eval/regret_pct"]] == [128, 256] and "train/value_loss" in scalars
    checkpoint = folder / "checkpoints" / "step_000000000256"
    policy = load_policy(config, checkpoint)
    assert score(policy, "BasketSequence-v0", episodes=50, seed=config.training.eval_seed,
                 params=config.env_params()).regret.mean == pytest.approx(result["final"]["regret"])
    resumed = load_model("maskable_ppo", checkpoint / "model.zip", env=basket_adapter(trades=6))
    assert resumed.num_timesteps == 256
    with pytest.raises(ValueError, match="masks actions"):
        load_model("ppo", checkpoint / "model.zip", env=basket_adapter(trades=6))


def test_the_committed_config_is_valid():
    from pathlib import Path

    from execgym.experiments.config import load_config

    config = load_config(Path(__file__).parents[2] / "experiments" / "configs" / "maskable_ppo_basket_sequence.yaml")
    assert (config.env.id, config.agent.algo) == ("BasketSequence-v0", "maskable_ppo")


def test_masks_reach_maskable_ppo_through_the_expected_rewards_wrapper():
    from execgym.experiments.trainers import sb3_env

    config = parse_config({"env": {"id": "BasketSequence-v0", "markets": "train"},
                           "agent": {"algo": "maskable_ppo", "num_envs": 4, "expected_rewards": True,
                                     "hyperparameters": TINY},
                           "training": {"total_steps": 64, "eval_every": 32}})
    env = sb3_env(config)
    assert is_masking_supported(env)
    env.reset()
    np.testing.assert_array_equal(get_action_masks(env), env.venv.env.unwrapped.action_masks())
    model = build_model("maskable_ppo", env, TINY, seed=0).learn(64)
    assert model.num_timesteps >= 64
    with pytest.raises(ValueError, match="needs an env whose actions are masked"):
        build_model("maskable_ppo", sb3_env(parse_config({
            "env": {"id": "OptimalExec-v0"}, "agent": {"algo": "ppo", "expected_rewards": True},
            "training": {"total_steps": 64, "eval_every": 32}})), TINY, seed=0)
