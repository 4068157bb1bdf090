"""A run killed with SIGKILL resumes from its last checkpoint: no gap, no duplicate, complete files;
for Q-learning the resumed run is the uninterrupted one, exactly."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from execgym.experiments.checkpoints import checkpoints
from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment
from execgym.experiments.tensorboard_log import read_scalars

ROLLOUT = 8 * 26     # PPO: num_envs × n_steps


def config_of(tmp_path, agent, total_steps, eval_every, name="run"):
    return parse_config({"env": {"id": "OptimalExec-v0"}, "agent": agent,
                         "training": {"total_steps": total_steps, "eval_every": eval_every, "eval_episodes": 200},
                         "seeds": [0], "output": str(tmp_path / name)})


def kill_after_first_checkpoint(config, tmp_path, timeout=120.0):
    """Start `execgym run` in a subprocess and SIGKILL it as soon as a checkpoint exists."""
    path = tmp_path / f"{config.output.name}.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    process = subprocess.Popen([sys.executable, "-m", "execgym.experiments.cli", "run", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = config.output / "seed_0" / "checkpoints"
    deadline = time.monotonic() + timeout
    while not checkpoints(root):
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (config.output / "seed_0" / "result.json").exists(), "the run finished before it was killed"
    return checkpoints(root)


def expected_milestones(total, every, rollout):
    """Evaluation steps of an uninterrupted SB3 run: the first rollout boundary past each milestone."""
    steps, milestones, next_milestone = 0, [], every
    while steps < total:
        if steps >= next_milestone:
            milestones.append(steps)
            next_milestone = (steps // every + 1) * every
        steps += rollout
    return milestones + [steps]


@pytest.mark.slow
def test_ppo_killed_mid_training_resumes_without_gap_or_duplicate(tmp_path):
    agent = {"algo": "ppo", "num_envs": 8, "hyperparameters": {"n_steps": 26, "batch_size": 104, "n_epochs": 2}}
    total, every = 60 * ROLLOUT, 5 * ROLLOUT
    config = config_of(tmp_path, agent, total, every)
    kept = kill_after_first_checkpoint(config, tmp_path)
    resumed_from = int(kept[-1].name.split("_")[1])
    assert resumed_from < total

    run_experiment(config, resume=True)
    folder = config.output / "seed_0"
    scalars = read_scalars(folder / "tensorboard")
    rollout_steps = [step for step, _ in scalars["rollout/ep_rew_mean"]]
    assert rollout_steps == list(range(ROLLOUT, total + 1, ROLLOUT))
    assert [step for step, _ in scalars["train/loss"]] == list(range(2 * ROLLOUT, total + 1, ROLLOUT))
    eval_steps = [step for step, _ in scalars["eval/regret_pct"]]
    assert eval_steps == expected_milestones(total, every, ROLLOUT)
    result = json.loads((folder / "result.json").read_text())
    assert [point["steps"] for point in result["curve"]] == eval_steps
    assert result["steps"] == total
    for name in ("summary.md", "trajectory.png"):
        assert (folder / name).stat().st_size > 0
    assert json.loads((config.output / "result.json").read_text())["per_seed"][0]["steps"] == total


@pytest.mark.slow
def test_qlearning_killed_and_resumed_equals_the_uninterrupted_run_exactly(tmp_path):
    agent = {"algo": "qlearning", "num_envs": 64, "discretisation": {"lots": 10, "max_trade_lots": 4},
             "hyperparameters": {"step_size_exponent": 0.8}}
    total, every = 3_000_000, 150_000
    straight = config_of(tmp_path, agent, total, every, name="straight")
    run_experiment(straight)

    killed = config_of(tmp_path, agent, total, every, name="killed")
    kill_after_first_checkpoint(killed, tmp_path)
    run_experiment(killed, resume=True)

    def result(config):
        data = json.loads((config.output / "seed_0" / "result.json").read_text())
        data.pop("wall_seconds")
        return data

    assert result(killed) == result(straight)
    assert read_scalars(killed.output / "seed_0" / "tensorboard") == \
        read_scalars(straight.output / "seed_0" / "tensorboard")


def test_resume_skips_finished_seeds_and_refuses_a_changed_config(tmp_path):
    agent = {"algo": "qlearning", "num_envs": 16, "discretisation": {"lots": 5}}
    config = config_of(tmp_path, agent, 2_000, 1_000)
    first = run_experiment(config)
    marker = config.output / "seed_0" / "result.json"
    before = marker.stat().st_mtime_ns
    assert run_experiment(config, resume=True)["per_seed"] == first["per_seed"]
    assert marker.stat().st_mtime_ns == before
    changed = config_of(tmp_path, {**agent, "num_envs": 8}, 2_000, 1_000)
    with pytest.raises(ValueError, match="differs from this config"):
        run_experiment(changed, resume=True)
