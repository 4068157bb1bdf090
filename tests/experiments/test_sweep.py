"""execgym sweep: planning (seeds, grid, folders), Ray execution with one retry, aggregation, and resuming a
sweep whose process was killed."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from execgym.experiments import sweep, sweep_report
from execgym.experiments.config import ConfigError, parse_config
from execgym.experiments.sweep_plan import parse_grid, parse_seeds, plan, point_name, record

ROOT = Path(__file__).resolve().parents[2]
TINY = {"env": {"id": "OptimalExec-v0"},
        "agent": {"algo": "qlearning", "num_envs": 16, "discretisation": {"lots": 5}},
        "training": {"total_steps": 4_000, "eval_every": 2_000, "eval_episodes": 200},
        "seeds": [0], "output": "runs/tiny"}
GRID = ["agent.hyperparameters.epsilon_end=0.05,0.2"]


def test_seeds_accept_ranges_and_lists_and_name_the_forms_on_error():
    assert parse_seeds("0-3") == (0, 1, 2, 3)
    assert parse_seeds("0-2,7, 9") == (0, 1, 2, 7, 9)
    for bad in ("3-1", "a", "1,,2", "-1", "0-2,2"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_grid_reads_yaml_values_and_rejects_bad_settings():
    grid = parse_grid(["agent.hyperparameters.learning_rate=1e-4,3.0e-4", "env.params.two_way=true,false",
                       "agent.hyperparameters.net_arch=[64, 64],[32]"])
    assert grid == {"agent.hyperparameters.learning_rate": [1e-4, 3e-4],
                    "env.params.two_way": [True, False], "agent.hyperparameters.net_arch": [[64, 64], [32]]}
    for bad in (["learning_rate=1"], ["agent.x"], ["agent.x="], ["agent.x=1", "agent.x=2"]):
        with pytest.raises(ValueError, match="--grid"):
            parse_grid(bad)
    assert point_name({"a.b.learning_rate": 0.1, "env.params.x": [1, 2]}) == "learning_rate=0.1,x=_1__2_"
    assert point_name({}) == "default"


def test_plan_is_the_product_of_points_and_seeds_and_validates_each_point(tmp_path):
    config = parse_config(TINY)
    trials = plan(config, parse_grid(GRID + ["training.total_steps=100,200"]), (0, 1, 2), tmp_path)
    assert len(trials) == 2 * 2 * 3
    assert {trial.point for trial in trials} == {f"epsilon_end={lr},total_steps={n}"
                                                 for lr in (0.05, 0.2) for n in (100, 200)}
    first = trials[0]
    assert first.folder == tmp_path / first.point / "seed_0"
    assert first.config.agent.hyperparameters == {"epsilon_end": 0.05} and first.config.training.total_steps == 100
    with pytest.raises(ConfigError, match="training.total_steps must be >= 1"):
        plan(config, parse_grid(["training.total_steps=0"]), (0,), tmp_path)
    with pytest.raises(ConfigError, match="env.params"):
        plan(config, parse_grid(["env.params.periods=-3"]), (0,), tmp_path)


def test_a_folder_holding_another_sweep_is_refused(tmp_path):
    config = parse_config(TINY)
    trials = plan(config, parse_grid(GRID), (0, 1), tmp_path)
    record(tmp_path, config, parse_grid(GRID), (0, 1), trials)
    record(tmp_path, config, parse_grid(GRID), (0, 1), trials)                 # the same sweep: resumes
    with pytest.raises(ValueError, match="another sweep"):
        record(tmp_path, config, parse_grid(GRID), (0, 1, 2), plan(config, parse_grid(GRID), (0, 1, 2), tmp_path))
    assert yaml.safe_load((tmp_path / trials[0].point / "config.yaml").read_text())["output"] == \
        str(tmp_path / trials[0].point)


def test_interquartile_mean_and_interval_are_those_of_the_middle_half():
    values = np.array([0.0, 1.0, 2.0, 3.0, 100.0, 4.0, 5.0, 6.0])
    iqm, low, high = sweep_report.interquartile_mean(values)
    assert iqm == pytest.approx(np.mean([2.0, 3.0, 4.0, 5.0]))
    assert low <= iqm <= high
    assert sweep_report.interquartile_mean(np.array([1.5, 2.5])) == (2.0, 2.0, 2.0)
    rows = sweep_report.summarise({"p": [{"env_id": "E", "algo": "a", "steps": 1, "wall_seconds": 1.0,
                                          "final": {"regret_pct": value}} for value in (1.0, 2.0, 3.0)]})
    summary = (rows[0]["regret_pct_mean"], rows[0]["regret_pct_ci95"])
    assert summary == pytest.approx((2.0, 4.302652729911275 / np.sqrt(3)))


def test_a_trial_whose_result_does_not_read_back_is_not_done(tmp_path):
    from execgym.experiments.results import POINT_KEYS, RESULT_KEYS

    trial, = plan(parse_config(TINY), {}, (0,), tmp_path)
    assert not trial.done
    trial.folder.mkdir(parents=True)
    result = {**dict.fromkeys(RESULT_KEYS, 0), "final": dict.fromkeys(POINT_KEYS, 0.0)}
    (trial.folder / "result.json").write_text(json.dumps(result))
    assert trial.done
    (trial.folder / "result.json").write_text(json.dumps(result)[:30])
    assert not trial.done                       # rerunning the sweep rebuilds it from the last checkpoint


def test_a_point_of_one_seed_has_no_interval_and_no_nan_in_its_summaries():
    rows = sweep_report.summarise({"p": [{"env_id": "E", "algo": "a", "steps": 1, "wall_seconds": 1.0,
                                          "final": {"regret_pct": 1.25}}]})
    text = sweep_report.markdown(rows, "title")
    assert "| 1.250 (one seed: no interval) |" in text and "nan" not in text
    header, row = sweep_report.csv_text(rows, sweep_report.SUMMARY_COLUMNS).splitlines()
    cells = dict(zip(header.split(","), row.split(",")))
    assert cells["regret_pct_mean"] == "1.25" and cells["regret_pct_ci95"] == ""


def test_curves_are_matched_by_evaluation_when_seeds_evaluate_at_different_steps():
    runs = [{"curve": [{"steps": 100, "regret_pct": 4.0}, {"steps": 200, "regret_pct": 1.0}]},
            {"curve": [{"steps": 104, "regret_pct": 2.0}, {"steps": 206, "regret_pct": 3.0},
                       {"steps": 300, "regret_pct": 0.0}]}]
    steps, means, widths = sweep_report.curve_bands(runs)
    np.testing.assert_allclose(steps, [102.0, 203.0])
    np.testing.assert_allclose(means, [3.0, 2.0])
    np.testing.assert_allclose(widths, [12.706204736174698 * np.sqrt(2) / np.sqrt(2)] * 2)


def test_without_ray_the_command_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    trials = plan(parse_config(TINY), {}, (0,), tmp_path)
    with pytest.raises(ValueError, match=r"runs on Ray, which is not installed: pip install .*'execgym\[ray\]'"):
        sweep.run_trials(trials)


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_a_failing_trial_is_retried_once_then_reported(local_ray, tmp_path):
    trials = plan(parse_config(TINY), {}, (0, 1), tmp_path)
    marker = tmp_path / "attempts"
    marker.mkdir()

    def flaky(config_data, seed):            # seed 0 fails on its first attempt only; seed 1 always fails
        attempt = marker / f"{seed}_{len(list(marker.glob(f'{seed}_*')))}"
        attempt.touch()
        if seed == 1 or attempt.name == "0_0":
            raise RuntimeError(f"injected failure of seed {seed}")
        return sweep.run_trial(config_data, seed)

    failed = sweep.run_trials(trials, work=flaky)
    assert sorted(path.name for path in marker.iterdir()) == ["0_0", "0_1", "1_0", "1_1"]
    assert [(trial.seed, "injected failure of seed 1" in error) for trial, error in failed] == [(1, True)]
    assert trials[0].done and not trials[1].done


def _sweep_command(config_path, output):
    return [sys.executable, "-m", "execgym.experiments.cli", "sweep", str(config_path), "--seeds", "0-1", "--cpus", "1",
            "--output", str(output)] + [arg for setting in GRID for arg in ("--grid", setting)]


@pytest.mark.slow
def test_sweep_of_2_seeds_by_2_points_resumes_after_being_killed(tmp_path):
    config_path, output = tmp_path / "tiny.yaml", tmp_path / "sweep"
    config_path.write_text(yaml.safe_dump(TINY))
    process = subprocess.Popen(_sweep_command(config_path, output), cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not list(output.glob("*/seed_*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)                           # the driver and its Ray processes
    process.wait()
    finished = {path: path.stat().st_mtime_ns for path in output.glob("*/seed_*/result.json")}
    assert 1 <= len(finished) < 4

    rerun = subprocess.run(_sweep_command(config_path, output), cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    results = sorted(output.glob("*/seed_*/result.json"))
    assert len(results) == 4
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items())   # skipped, not rerun
    with open(output / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    assert sorted(row["point"] for row in rows) == ["epsilon_end=0.05", "epsilon_end=0.2"]
    for row in rows:
        seeds = [json.loads(path.read_text())["final"]["regret_pct"] for path in results
                 if path.parts[-3] == row["point"]]
        assert int(row["seeds"]) == 2 and float(row["regret_pct_mean"]) == pytest.approx(np.mean(seeds))
    assert len(list(csv.DictReader(open(output / "trials.csv")))) == 4
    assert (output / "regret_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "| OptimalExec-v0 | qlearning | epsilon_end=0.05 | 2 |" in (output / "summary.md").read_text()
