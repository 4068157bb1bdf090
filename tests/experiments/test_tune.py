"""execgym tune: a study writes every output and its best.yaml reproduces the best trial; pruning compares trials
at equal nominal steps; failed trials are recorded and the study goes on; a study continues where it stopped;
search-space files are validated with errors naming the file and the key."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from execgym.experiments import tune
from execgym.experiments.cli import build_parser, load_command, main
from execgym.experiments.config import load_config, parse_config
from execgym.experiments.run import run_seed
from execgym.experiments.tune_space import (DEFAULT_SPACES, agent_hyperparameters, load_space, parse_space,
                                            sample)

ROOT = Path(__file__).resolve().parents[2]
TINY = {"env": {"id": "OptimalExec-v0"},
        "agent": {"algo": "qlearning", "num_envs": 16, "discretisation": {"lots": 5}},
        "training": {"total_steps": 3_000, "eval_every": 1_000, "eval_episodes": 200},
        "seeds": [0], "output": "runs/tiny"}


def write_config(tmp_path, data=TINY, name="tiny.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def read_trials(folder):
    with open(folder / "trials.csv") as file:
        return list(csv.DictReader(file))


def study_of(folder):
    return optuna.load_study(study_name=tune.STUDY_NAME, storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(folder / "study.journal"))))


@pytest.mark.slow
def test_a_tiny_study_writes_every_output_and_its_best_config_reproduces_the_best_trial(tmp_path, capsys):
    output = tmp_path / "study"
    assert main(["tune", str(write_config(tmp_path)), "--trials", "4", "--startup-trials", "2",
                 "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    for name in ("best.yaml", "trials.csv", "summary.md", "study.png", "space.yaml", "tune.yaml", "study.journal"):
        assert (output / name).stat().st_size > 0, name
    assert (output / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_trials(output)
    assert [row["number"] for row in rows] == ["0", "1", "2", "3"]
    assert {row["state"] for row in rows} <= {"COMPLETE", "PRUNED"}
    assert all(f"trial {n} " in printed for n in range(4))                  # a line per finished trial
    complete = [row for row in rows if row["state"] == "COMPLETE"]
    best = min(complete, key=lambda row: float(row["regret_pct"]))
    assert int(best["steps"]) >= 3_000
    assert yaml.safe_load((output / "space.yaml").read_text()) == yaml.safe_load(
        yaml.safe_dump({name: dimension.to_dict() for name, dimension in DEFAULT_SPACES["qlearning"].items()}))

    config = load_config(output / "best.yaml")
    searched = set(DEFAULT_SPACES["qlearning"])
    assert {name: config.agent.hyperparameters[name] for name in searched} == \
        {name: float(best[name]) for name in searched}
    assert config.training == load_config(write_config(tmp_path)).training
    header = (output / "best.yaml").read_text().split("\nenv:")[0]
    assert f"trial {best['number']}, regret {float(best['regret_pct']):.3f}" in header
    assert f"Best: trial {best['number']}" in (output / "summary.md").read_text()
    # Training is deterministic and every trial is scored on the same episodes: the run of best.yaml with the
    # study's seed gives the best trial's regret, exactly.
    result = run_seed(config, 0, tmp_path / "rerun", resume=False)
    assert result["final"]["regret_pct"] == float(best["regret_pct"])


class StubTrainer:
    """Rollouts of 96 steps (epsilon_end 0.0: regret 1 %) or 130 steps (otherwise: regret 10 %), so the two kinds
    of trial evaluate at different raw steps after crossing the same milestones."""

    references = {}

    def __init__(self, config, seed, log_dir, checkpoint=None):
        good = config.agent.hyperparameters["epsilon_end"] == 0.0
        self.rollout, self.regret, self.steps = (96, 1.0, 0) if good else (130, 10.0, 0)

    def learn(self, total_steps, every, on_milestone, on_progress):
        milestone = every
        while self.steps < total_steps:
            self.steps += self.rollout
            if self.steps >= milestone:
                on_milestone(self.steps)
                milestone = (self.steps // every + 1) * every

    def policy(self):
        return self


def stub_evaluate(policy, config, steps, references=None):
    return {"steps": steps, "return": -policy.regret, "return_half_width": 0.1, "oracle_return": -0.0,
            "regret": policy.regret, "regret_half_width": 0.1, "regret_pct": policy.regret,
            "regret_pct_half_width": 0.1}


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(tune, "make_trainer", StubTrainer)
    monkeypatch.setattr(tune.runner, "evaluate_config", stub_evaluate)


def stub_tuning(tmp_path, space, startup_trials=2):
    config = parse_config({**TINY, "training": {"total_steps": 1_000, "eval_every": 200, "eval_episodes": 200}})
    tuning = tune.Tuning(config, parse_space(space, "qlearning", "test space"), 0, startup_trials, tmp_path / "study")
    tune.record(tuning)
    return tuning


def test_evaluations_report_at_their_nominal_step():
    assert [tune.nominal_step(steps, 200, 1_000) for steps in (288, 480, 520, 999, 1_000, 1_040)] == \
        [200, 400, 400, 800, 1_000, 1_000]


def test_a_trial_worse_than_the_median_at_the_same_nominal_step_is_pruned(tmp_path, stubbed):
    tuning = stub_tuning(tmp_path, {"epsilon_end": {"choices": [0.0, 0.2]}})
    study = tuning.open_study()
    for epsilon_end in (0.0, 0.0, 0.2, 0.0, 0.2):
        study.enqueue_trial({"epsilon_end": epsilon_end})
    tune.run_trials(tuning, trials=5, first=0)
    trials = study.get_trials()
    assert [trial.state for trial in trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED,
                                                 TrialState.COMPLETE, TrialState.PRUNED]
    # Evaluations at raw steps 288, 480, ... (good) and 260, 520, ... (bad) meet at nominal steps 200, 400, ...;
    # none is pruned before a third of the budget (333 steps), so the bad ones stop at 400 (raw 520).
    assert list(trials[0].intermediate_values) == [200, 400, 600, 800, 1_000]
    assert trials[0].value == 1.0 and trials[0].user_attrs["steps"] == 1_056
    for pruned in (trials[2], trials[4]):
        assert pruned.intermediate_values == {200: 10.0, 400: 10.0}
        assert pruned.user_attrs["steps"] == 520 and pruned.value == 10.0
    tune.StudyProgress(tuning, study).update(force=True)
    assert [row["state"] for row in read_trials(tuning.folder)] == [trial.state.name for trial in trials]
    assert (tuning.folder / "study.png").exists()


def test_a_failing_trial_is_recorded_with_its_error_and_the_study_goes_on(tmp_path, stubbed):
    tuning = stub_tuning(tmp_path, {"epsilon_start": {"choices": [0.1]}, "epsilon_end": {"choices": [0.0, 0.2]}})
    study = tuning.open_study()
    for epsilon_end in (0.2, 0.0, 0.0):
        study.enqueue_trial({"epsilon_start": 0.1, "epsilon_end": epsilon_end})
    tune.run_trials(tuning, trials=2, first=0)
    failed, *complete = study.get_trials()
    assert [trial.state for trial in (failed, *complete)] == [TrialState.FAIL] + [TrialState.COMPLETE] * 2
    assert failed.user_attrs["error"] == ("ConfigError: trial 0: agent.hyperparameters: epsilon_end must be <= "
                                         "epsilon_start = 0.1 (ε decays), got 0.2")
    tune.StudyProgress(tuning, study).update(force=True)
    assert f"trial 0: {failed.user_attrs['error']}" in (tuning.folder / "summary.md").read_text()
    assert [row["error"] for row in read_trials(tuning.folder)] == [failed.user_attrs["error"], "", ""]


def test_a_study_whose_every_trial_fails_stops_after_as_many_failures_as_trials(tmp_path, stubbed):
    tuning = stub_tuning(tmp_path, {"epsilon_start": {"choices": [0.1]}, "epsilon_end": {"choices": [0.2]}})
    tune.run_trials(tuning, trials=3, first=0)
    assert [trial.state for trial in tuning.open_study().get_trials()] == [TrialState.FAIL] * 3


@pytest.mark.slow
def test_a_continued_study_keeps_its_finished_trials_and_reruns_an_interrupted_one(tmp_path, stubbed, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("epsilon_end: {choices: [0.0, 0.2]}\nepsilon_decay_fraction: {low: 0.1, high: 0.9}\n")
    command = ["tune", str(write_config(tmp_path)), "--trials", "2", "--space", str(space),
               "--output", str(tmp_path / "study")]
    assert main(command) == 0
    tuning = tune.tuning_of(tune_arguments(command))
    study = tuning.open_study()
    finished = {trial.number: trial.datetime_complete for trial in study.get_trials()}
    interrupted = study.ask()                         # a trial whose process was killed: left RUNNING
    drawn = sample(tuning.space, interrupted)
    capsys.readouterr()

    assert main(command[:2] + ["--trials", "4"] + command[4:]) == 0
    assert "continuing the study" in capsys.readouterr().out
    trials = study_of(tuning.folder).get_trials()
    assert {trial.number: trial.datetime_complete for trial in trials[:2]} == finished
    assert trials[2].state == TrialState.FAIL and trials[2].user_attrs["error"] == tune.INTERRUPTED
    rerun = trials[3]
    assert rerun.user_attrs["rerun_of"] == 2 and rerun.params == drawn
    assert sum(trial.state in (TrialState.COMPLETE, TrialState.PRUNED) for trial in trials) == 4
    assert len(trials) == 5 and len(read_trials(tuning.folder)) == 5


def tune_arguments(command):
    return build_parser().parse_args(command)


def test_another_config_into_the_same_folder_is_refused(tmp_path, stubbed):
    tuning = stub_tuning(tmp_path, {"epsilon_end": {"choices": [0.0, 0.2]}})
    tune.record(tuning)                                                             # the same study: continues
    for changed in ({"seed": 1}, {"startup_trials": 3},
                    {"config": parse_config({**TINY, "training": {**TINY["training"], "eval_episodes": 300}})}):
        other = tune.Tuning(**{**tuning.__dict__, **changed})
        with pytest.raises(ValueError, match=f"holds the study of another setup \\(its {next(iter(changed))} "):
            tune.record(other)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty and holds no study"):
        tune.record(tune.Tuning(**{**tuning.__dict__, "folder": tmp_path / "other"}))


@pytest.mark.parametrize("text, message", [
    ("- learning_rate", "expected a mapping of hyperparameter name"),
    ("{}", "expected a mapping of hyperparameter name"),
    ("learning_rat: {low: 1.0e-5, high: 1.0e-3}", "'learning_rat' is not a ppo hyperparameter"),
    ("learning_rate: [1.0e-5, 1.0e-3]", r"learning_rate: expected \{low: L, high: H\}"),
    ("learning_rate: {low: 1.0e-5, high: 1.0e-3, scale: log}", r"learning_rate: expected \{low: L, high: H\}"),
    ("learning_rate: {low: 1e-5, high: 1.0e-3}", r"learning_rate.low: expected a number, got the text '1e-5'"),
    ("learning_rate: {low: 1.0e-3, high: 1.0e-5}", "learning_rate: low must be below high"),
    ("ent_coef: {low: 0.0, high: 0.1, log: true}", "ent_coef: a log range needs low > 0"),
    ("ent_coef: {low: 0.0, high: 0.1, log: yes please}", "ent_coef.log: expected true or false"),
    ("gae_lambda: {low: 0, high: 1}", "gae_lambda: a range of integers, but gae_lambda is a real number"),
    ("n_steps: {choices: []}", "n_steps.choices: expected a non-empty list"),
    ("n_steps: {choices: [64, 64]}", "n_steps.choices: the choices repeat"),
    ("minibatches: {choices: [1, 2]}\nbatch_size: {choices: [64]}", "search minibatches or batch_size, not both"),
    ("minibatches: {choices: [0.5, 2]}", "minibatches: the minibatches per epoch are integers >= 1"),
    ("n_steps: [64", "is not valid YAML"),
])
def test_a_bad_space_file_is_refused_naming_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        load_space(path, "ppo")
    assert f"space file {path}" in str(error.value)


def test_a_missing_space_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=f"space file {tmp_path / 'none.yaml'} does not exist"):
        load_space(tmp_path / "none.yaml", "ppo")


def test_choices_of_lists_and_minibatches_become_the_agent_s_hyperparameters():
    space = parse_space({"n_steps": {"choices": [64, 128]}, "minibatches": {"choices": [1, 4]},
                         "policy_kwargs": {"choices": [{"net_arch": [64, 64]}, {"net_arch": [128]}]},
                         "learning_rate": {"low": 1.0e-5, "high": 1.0e-3, "log": True}}, "ppo", "test")
    trial = optuna.trial.FixedTrial({"n_steps": 128, "minibatches": 4, "policy_kwargs": "{net_arch: [128]}",
                                     "learning_rate": 3.0e-4})
    config = parse_config({**TINY, "agent": {"algo": "ppo", "num_envs": 8}})
    assert agent_hyperparameters(sample(space, trial), config) == {
        "n_steps": 128, "batch_size": 128 * 8 // 4, "policy_kwargs": {"net_arch": [128]}, "learning_rate": 3.0e-4}
    # Without a searched n_steps, the config's (or the algorithm's default, 2048) sets the rollout.
    assert agent_hyperparameters({"minibatches": 16}, config)["batch_size"] == 2048 * 8 // 16
    with pytest.raises(ValueError, match="minibatches = 3 does not split the rollout"):
        agent_hyperparameters({"n_steps": 64, "minibatches": 3}, config)


def test_without_ray_the_parallel_options_say_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["tune", str(write_config(tmp_path)), "--trials", "2", "--workers", "2",
                 "--output", str(tmp_path / "study")]) == 1
    assert "'execgym[ray]'" in capsys.readouterr().err


def test_without_optuna_the_command_says_which_extra_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)
    monkeypatch.delitem(sys.modules, "execgym.experiments.tune")
    assert "optional extra" in load_command("tune").HELP
    assert main(["tune", str(write_config(tmp_path)), "--trials", "2"]) == 1
    error = capsys.readouterr().err
    assert "needs the optional extra 'tune' (optuna is not installed)" in error and "'execgym[tune]'" in error
    assert not (tmp_path / "study").exists()


@pytest.mark.slow
def test_a_study_killed_mid_trial_continues_without_rerunning_finished_trials(tmp_path):
    config = {**TINY, "training": {"total_steps": 40_000, "eval_every": 10_000, "eval_episodes": 200}}
    output = tmp_path / "study"
    command = [sys.executable, "-m", "execgym.experiments.cli", "tune", str(write_config(tmp_path, config)),
               "--trials", "3", "--output", str(output)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (output / "trials.csv").exists() or len(list((output / "trials").iterdir())) < 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = study_of(output).get_trials()
    assert [trial.state for trial in before[:1]] == [TrialState.COMPLETE] and before[-1].state == TrialState.RUNNING

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    after = study_of(output).get_trials()
    assert [(t.number, t.datetime_complete, t.value) for t in after[:len(before) - 1]] == \
        [(t.number, t.datetime_complete, t.value) for t in before[:-1]]
    assert after[len(before) - 1].state == TrialState.FAIL
    assert sum(trial.state in (TrialState.COMPLETE, TrialState.PRUNED) for trial in after) == 3
    assert f"trial {len(after) - 1} " in rerun.stdout and "continuing the study" in rerun.stdout


@pytest.mark.slow
def test_workers_on_ray_share_the_study_and_run_exactly_its_trials(tmp_path):
    pytest.importorskip("ray")
    output = tmp_path / "study"
    command = [sys.executable, "-m", "execgym.experiments.cli", "tune", str(write_config(tmp_path)),
               "--trials", "4", "--workers", "2", "--cpus", "2", "--output", str(output)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    trials = study_of(output).get_trials()
    assert len(trials) == 4 and all(trial.state in (TrialState.COMPLETE, TrialState.PRUNED) for trial in trials)
    assert all(f"trial {n} " in done.stdout for n in range(4))
    spans = sorted((trial.datetime_start, trial.datetime_complete) for trial in trials)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))         # two ran at once
    assert load_config(output / "best.yaml").agent.algo == "qlearning"


@pytest.mark.slow
def test_ppo_minibatches_set_the_batch_size_and_best_yaml_reproduces_the_best_trial(tmp_path):
    config = {**TINY, "agent": {"algo": "ppo", "num_envs": 8, "hyperparameters": {"n_epochs": 2}},
              "training": {"total_steps": 1_024, "eval_every": 512, "eval_episodes": 200}}
    space = tmp_path / "space.yaml"
    space.write_text("n_steps: {choices: [32, 64]}\nminibatches: {choices: [2, 4]}\n"
                     "learning_rate: {low: 1.0e-4, high: 1.0e-3, log: true}\n")
    output = tmp_path / "study"
    assert main(["tune", str(write_config(tmp_path, config)), "--trials", "2", "--space", str(space),
                 "--output", str(output)]) == 0
    rows = read_trials(output)
    row = min((row for row in rows if row["state"] == "COMPLETE"), key=lambda row: float(row["regret_pct"]))
    best = load_config(output / "best.yaml")
    assert best.agent.hyperparameters["batch_size"] == int(row["n_steps"]) * 8 // int(row["minibatches"]) == \
        int(row["batch_size"])
    assert run_seed(best, 0, tmp_path / "rerun", resume=False)["final"]["regret_pct"] == float(row["regret_pct"])


def test_the_budget_options_are_those_of_execgym_run(tmp_path):
    """--total-steps below eval_every keeps the config's number of evaluations (pruning needs them), and
    --set overrides any key, as in `execgym run`."""
    args = tune_arguments(["tune", str(write_config(tmp_path)), "--trials", "2", "--total-steps", "600",
                           "--set", "agent.hyperparameters.epsilon_end=0.05"])
    config = tune.tuning_of(args).config
    assert (config.training.total_steps, config.training.eval_every) == (600, 200)
    assert config.agent.hyperparameters["epsilon_end"] == 0.05
