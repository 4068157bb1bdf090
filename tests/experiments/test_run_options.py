"""execgym run's command line: --set overrides and --total-steps, YAML numbers in scientific notation, and the
checks made before an output folder is created."""

import pytest
import yaml

from execgym.experiments.arguments import yaml_value, parse_settings
from execgym.experiments.cli import main
from execgym.experiments.config import MAX_SEED, ConfigError, load_config, load_yaml, parse_config
from execgym.experiments.run import budget_settings, effective_config, run_experiment
from execgym.experiments.sweep_plan import parse_grid
from execgym.experiments.trainers import check_trainer_config

PPO = {"env": {"id": "OptimalExec-v0"},
       "agent": {"algo": "ppo", "num_envs": 8, "hyperparameters": {"n_steps": 26, "batch_size": 52, "n_epochs": 2}},
       "training": {"total_steps": 3_000_000, "eval_every": 250_000, "eval_episodes": 200},
       "seeds": [0], "output": "runs/unused"}
QLEARNING = {"env": {"id": "OptimalExec-v0"},
             "agent": {"algo": "qlearning", "num_envs": 16, "discretisation": {"lots": 5}},
             "training": {"total_steps": 2_000, "eval_every": 500, "eval_episodes": 200},
             "seeds": [0], "output": "runs/unused"}


def write_config(tmp_path, data, name="c.yaml", **changes):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**data, "output": str(tmp_path / "out"), **changes}))
    return path


@pytest.mark.parametrize("text, value", [("3e-4", 3e-4), ("3.0e-4", 3e-4), ("1E5", 1e5), ("1e5", 1e5),
                                         ("-2e+3", -2e3), (".5e-3", 5e-4), ("1_000e-3", 1.0), ("3.0e4", 3e4)])
def test_scientific_notation_reads_as_a_number(text, value):
    loaded = load_yaml(f"learning_rate: {text}")["learning_rate"]
    assert isinstance(loaded, float) and loaded == pytest.approx(value, rel=1e-15)
    assert yaml_value(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text, value", [("e5", "e5"), ("3e", "3e"), ("1.2.3", "1.2.3"), ("0x1e5", 0x1E5),
                                         ("12", 12), ("'3e-4'", "3e-4"), ("relu", "relu")])
def test_other_scalars_read_as_yaml_1_1_does(text, value):
    assert load_yaml(f"x: {text}")["x"] == value
    assert yaml_value(text) == value


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_a_command_line_value_means_what_it_means_in_a_file(tmp_path, text):
    assert yaml_value(text) == load_yaml(f"x: {text}")["x"] == text
    path = write_config(tmp_path, PPO)
    config = load_config(path, parse_settings([f"agent.hyperparameters.learning_rate={text}"]))
    with pytest.raises(ConfigError, match="learning_rate"):
        run_experiment(config)
    assert not (tmp_path / "out").exists()


def test_scientific_notation_reaches_the_config_the_overrides_and_the_grid(tmp_path):
    data = {**PPO, "agent": {**PPO["agent"], "hyperparameters": {"learning_rate": "LR"}}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data).replace("LR", "3e-4"))
    assert "3e-4" in path.read_text()
    assert load_config(path).agent.hyperparameters["learning_rate"] == 3e-4
    check_trainer_config(load_config(path))
    assert parse_settings(["agent.hyperparameters.learning_rate=1E-3"]) == {"agent.hyperparameters.learning_rate": 1e-3}
    assert parse_grid(["agent.hyperparameters.learning_rate=1e-4,3e-4"]) == \
        {"agent.hyperparameters.learning_rate": [1e-4, 3e-4]}


@pytest.mark.parametrize("data, key", [
    ({**PPO, "agent": {**PPO["agent"], "hyperparameters": {"learning_rate": "fast"}}}, "learning_rate"),
    ({**PPO, "agent": {**PPO["agent"], "hyperparameters": {"n_steps": 12.5}}}, "n_steps"),
    ({**QLEARNING, "agent": {**QLEARNING["agent"], "hyperparameters": {"gamma": "one"}}}, "gamma"),
])
def test_a_non_numeric_hyperparameter_is_refused_naming_the_key_and_the_file(tmp_path, data, key):
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError, match=rf"{path}: agent.hyperparameters: .*{key}"):
        run_experiment(load_config(path))
    assert not (tmp_path / "out").exists()


def test_an_unknown_hyperparameter_names_the_file_and_lists_public_parameters_only(tmp_path):
    path = write_config(tmp_path, {**PPO, "agent": {**PPO["agent"], "hyperparameters": {"n_step": 8}}})
    with pytest.raises(ConfigError) as error:
        check_trainer_config(load_config(path))
    message = str(error.value)
    assert message.startswith(f"{path}: agent.hyperparameters: unknown ppo hyperparameter(s) ['n_step']; valid: [")
    valid = message.split("valid: ")[1]
    assert "'n_steps'" in valid and "'learning_rate'" in valid and "'policy_kwargs'" in valid
    for hidden in ("_init_setup_model", "'self'", "'env'", "'seed'", "'device'", "'verbose'"):
        assert hidden not in valid


@pytest.mark.parametrize("hyperparameters, message", [
    ({"batch_size": 1}, r"ppo refuses them \(AssertionError: `batch_size` must be greater than 1"),
    ({"policy_kwargs": {"net_arch": "wide"}}, "ppo refuses them"),
    ({"n_steps": 2**40}, r"the rollout buffer of agent.num_envs 8 x n_steps 1,099,511,627,776 needs about "
                         r"[\d,.]+ GiB, more than the [\d,.]+ GiB of memory available: lower agent.num_envs"),
])
def test_settings_the_algorithm_refuses_are_caught_before_the_output_folder_exists(tmp_path, hyperparameters, message):
    path = write_config(tmp_path, {**PPO, "agent": {**PPO["agent"], "hyperparameters": hyperparameters}})
    assert main(["run", str(path)]) == 1
    with pytest.raises(ConfigError, match=rf"{path}: .*{message}"):
        run_experiment(load_config(path))
    assert not (tmp_path / "out").exists()


def test_memory_is_checked_before_anything_of_num_envs_size_is_allocated(tmp_path):
    agent = {**PPO["agent"], "num_envs": 2**31, "hyperparameters": {"n_steps": 8, "batch_size": 64}}
    path = write_config(tmp_path, {**PPO, "agent": agent, "training": {**PPO["training"], "total_steps": 10**6}})
    with pytest.raises(ConfigError, match=rf"{path}: the rollout buffer of agent.num_envs 2,147,483,648 x n_steps 8 "
                                          r"needs about 640.0 GiB"):   # 2**34 rows x (3 + 1 + 6) float32
        check_trainer_config(load_config(path))


def test_the_rollout_buffer_estimate_is_the_buffer_sb3_allocates():
    from execgym.agents.sb3 import model_kwargs
    from execgym.experiments.trainers import rollout_buffer_bytes, sb3_env
    from execgym.agents.sb3 import build_model

    for data in (PPO, {**PPO, "env": {"id": "BasketSequence-v0"}, "agent": {**PPO["agent"], "algo": "maskable_ppo"}}):
        config = parse_config(data)
        env = sb3_env(config)
        model = build_model(config.agent.algo, env, config.agent.hyperparameters, 0)
        allocated = sum(value.nbytes for value in vars(model.rollout_buffer).values() if hasattr(value, "nbytes"))
        estimate = rollout_buffer_bytes(config.agent.algo, model_kwargs(config.agent.algo, config.agent.hyperparameters),
                                        config.agent.num_envs, env.observation_space, env.action_space)
        assert estimate == allocated


def test_seeds_and_budgets_must_fit_the_training_seeds(tmp_path):
    assert MAX_SEED == 2**31 - 257
    parse_config({**QLEARNING, "seeds": [MAX_SEED]})
    with pytest.raises(ConfigError, match=rf"c.yaml: seeds must be at most {MAX_SEED} .* got {MAX_SEED + 1}"):
        parse_config({**QLEARNING, "seeds": [0, MAX_SEED + 1]}, source="c.yaml")
    with pytest.raises(ConfigError, match=r"c.yaml: training.total_steps \+ agent.num_envs must be at most 2\*\*32"):
        parse_config({**QLEARNING, "training": {**QLEARNING["training"], "total_steps": 2**32}}, source="c.yaml")
    path = write_config(tmp_path, QLEARNING)
    assert main(["run", str(path), "--seed", str(2**33)]) == 1
    assert not (tmp_path / "out").exists()


def test_set_overrides_dotted_keys_and_errors_name_the_file_and_the_override(tmp_path):
    path = write_config(tmp_path, PPO)
    config = effective_config(path, parse_settings(["agent.hyperparameters.learning_rate=1e-4",
                                                    "env.params.side=buy", "agent.num_envs=4"]))
    assert config.agent.hyperparameters == {**PPO["agent"]["hyperparameters"], "learning_rate": 1e-4}
    assert config.env.params == {"side": "buy"} and config.agent.num_envs == 4
    with pytest.raises(ConfigError, match=rf"{path} with training.total_steps='many': training.total_steps: "
                                          "expected an integer, got 'many'"):
        effective_config(path, parse_settings(["training.total_steps=many"]))
    with pytest.raises(ConfigError, match=r"agent.nun_envs.*unknown key\(s\) \['nun_envs'\]"):
        effective_config(path, parse_settings(["agent.nun_envs=4"]))
    for bad, message in ((["learning_rate=1e-4"], "is not KEY=VALUE with a dotted key"),
                         (["agent.num_envs="], "is not KEY=VALUE"),
                         (["agent.num_envs=4", "agent.num_envs=8"], "agent.num_envs is given twice")):
        with pytest.raises(ValueError, match=rf"--set: .*{message}"):
            parse_settings(bad)
    with pytest.raises(ConfigError, match=r"env.id.x: id is not a mapping"):
        effective_config(path, parse_settings(["env.id.x=1"]))


def test_total_steps_scales_eval_every_to_keep_the_number_of_evaluations(tmp_path, capsys):
    config = parse_config(PPO)
    assert budget_settings(config, {}, 1_000) == {"training.total_steps": 1_000, "training.eval_every": 83}
    assert "evaluating every 83 steps (12 evaluation(s)" in capsys.readouterr().out
    assert budget_settings(config, {}, 500_000) == {"training.total_steps": 500_000}      # 250,000 fits
    explicit = {"training.eval_every": 5_000}
    assert budget_settings(config, explicit, 1_000) == {**explicit, "training.total_steps": 1_000}
    with pytest.raises(ValueError, match="--total-steps and --set training.total_steps both set the budget"):
        budget_settings(config, {"training.total_steps": 5}, 1_000)
    path = write_config(tmp_path, PPO)
    small = effective_config(path, {}, total_steps=2_000, seeds=[4], output=tmp_path / "elsewhere")
    assert (small.training.total_steps, small.training.eval_every) == (2_000, 166)
    assert small.seeds == (4,) and small.output == tmp_path / "elsewhere" and str(path) in small.source


def test_the_output_stores_the_effective_config(tmp_path, capsys):
    path = write_config(tmp_path, QLEARNING)
    assert main(["run", str(path), "--total-steps", "1000", "--set", "agent.hyperparameters.initial_q=-5e1",
                 "--set", "training.eval_every=400"]) == 0
    stored = load_config(tmp_path / "out" / "config.yaml")
    assert stored.training.total_steps == 1_000 and stored.training.eval_every == 400
    assert stored.agent.hyperparameters == {"initial_q": -50.0}
    assert stored.identity() == effective_config(path, parse_settings(
        ["agent.hyperparameters.initial_q=-5e1", "training.eval_every=400"]), total_steps=1_000).identity()


def test_an_env_whose_oracle_cannot_be_built_is_refused_before_the_output_exists(tmp_path):
    """Every evaluation scores against the oracle: a day of 390 TwapVwapSwitch-v0 buckets (some 1e117
    reachable states) is refused with the oracle's estimate, before anything is trained or written."""
    data = {"env": {"id": "TwapVwapSwitch-v0", "params": {"buckets": 390}},
            "agent": {"algo": "ppo", "num_envs": 2, "hyperparameters": {"n_steps": 8, "batch_size": 16}},
            "training": {"total_steps": 64, "eval_every": 32, "eval_episodes": 10}, "seeds": [0]}
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError, match=r"c\.yaml: env: every evaluation scores the agent against the oracle of "
                                          r"TwapVwapSwitch-v0, and it cannot be built .*years"):
        run_experiment(load_config(path))
    assert not (tmp_path / "out").exists()
