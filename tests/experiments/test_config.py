"""Experiment configs: every mistake is an error naming the key."""

import pytest
import yaml

from execgym.experiments.config import ConfigError, load_config, parse_config
from execgym.experiments.trainers import check_trainer_config

VALID = {"env": {"id": "OptimalExec-v0", "params": {"periods": 5}},
         "agent": {"algo": "ppo", "num_envs": 4, "hyperparameters": {"n_steps": 8}},
         "training": {"total_steps": 100, "eval_every": 50, "eval_episodes": 10},
         "seeds": [0, 1], "output": "runs/x"}


def with_(path, value):
    data = yaml.safe_load(yaml.safe_dump(VALID))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


def test_a_valid_config_round_trips_through_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(VALID))
    config = load_config(path)
    assert config.env_params().periods == 5 and config.seeds == (0, 1)
    assert parse_config(config.to_dict()) == config


@pytest.mark.parametrize("data, message", [
    (with_("typo", 1), r"unknown key\(s\) \['typo'\]"),
    (with_("agent.nun_envs", 3), r"agent: unknown key\(s\) \['nun_envs'\]"),
    (with_("training.total_steps", "many"), "training.total_steps: expected an integer, got 'many'"),
    (with_("training.total_steps", True), "training.total_steps: expected an integer"),
    (with_("seeds", [0, "a"]), r"seeds\[1\]: expected an integer"),
    (with_("env.id", "CartPole-v1"), "env.id 'CartPole-v1' is not an execgym env"),
    (with_("agent.algo", "dqn"), "agent.algo 'dqn' is unknown"),
    (with_("env.params", {"shares": -1}), r"env.params: shares must be in \[1e-06, 1e\+12\], got -1"),
    (with_("env.params", {"sigma": 1}), r"env.params: unknown parameter\(s\) \['sigma'\]"),
    (with_("training.eval_episodes", 1), "training.eval_episodes must be >= 2"),
    (with_("seeds", [1, 1]), "seeds must be a non-empty list of distinct integers"),
    (with_("training.eval_seed", 2**40), "must stay below 2\\*\\*40"),
    (with_("agent.discretisation", {"lots": 5}), "discretisation applies to qlearning only"),
    ({"env": {"id": "OptimalExec-v0"}}, "missing required key 'agent'"),
    ([1, 2], "expected a mapping"),
])
def test_invalid_configs_raise_naming_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data, source="c.yaml")


@pytest.mark.parametrize("agent, message", [
    ({"algo": "ppo", "hyperparameters": {"n_step": 8}}, r"unknown ppo hyperparameter\(s\) \['n_step'\]"),
    ({"algo": "trpo", "hyperparameters": {"policy_kwargs": {"activation_fn": "swish"}}}, "activation_fn must be one of"),
    ({"algo": "ppo", "hyperparameters": {"learning_rate": {"cosine": [1, 0]}}}, "learning_rate must be a number or"),
    ({"algo": "ppo", "hyperparameters": {"clip_range": {"linear": [0.2]}}}, "clip_range must be a number or"),
    ({"algo": "qlearning", "hyperparameters": {"alpha": 0.1}}, r"unknown qlearning hyperparameter\(s\) \['alpha'\]"),
    ({"algo": "qlearning", "hyperparameters": {"gamma": 2.0}}, "gamma must be in"),
    ({"algo": "qlearning", "discretisation": {"lots": 0}}, r"lots must be an integer in \[1"),
    ({"algo": "qlearning", "discretisation": {"lot": 5}}, r"agent.discretisation \{'lot': 5\}: unknown option\(s\) \['lot'\]"),
])
def test_agent_settings_are_checked_before_training(agent, message):
    config = parse_config({**VALID, "agent": agent})
    with pytest.raises(ValueError, match=message):
        check_trainer_config(config)


def test_missing_file_and_bad_yaml_raise(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("env: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_a_linear_schedule_runs_from_start_to_end_over_training():
    from execgym.agents.sb3 import model_kwargs

    schedule = model_kwargs("ppo", {"learning_rate": {"linear": [3e-4, 1e-5]}})["learning_rate"]
    assert [schedule(progress) for progress in (1.0, 0.5, 0.0)] == pytest.approx([3e-4, 1.55e-4, 1e-5])
