"""execgym run when things go wrong: runs that failed early, corrupt checkpoints and results, moved folders,
seeds added later, interrupted writes; and what it writes: strict JSON, no "± nan", progress away from a terminal."""

import json
import os
import re
import shutil

import numpy as np
import pytest
import yaml

from execgym.experiments import run as run_module
from execgym.experiments.checkpoints import checkpoints, save_checkpoint
from execgym.experiments.cli import main
from execgym.experiments.config import parse_config
from execgym.experiments.files import (CorruptFile, check_writable, json_text, read_json, remove_stale_temporaries,
                                       write_text_atomically)
from execgym.experiments.run import SeedsFailed, run_experiment
from execgym.experiments.tensorboard_log import event_files, read_scalars

QLEARNING = {"algo": "qlearning", "num_envs": 16, "discretisation": {"lots": 5}}
PPO = {"algo": "ppo", "num_envs": 8, "hyperparameters": {"n_steps": 26, "batch_size": 52, "n_epochs": 2}}


def config_of(tmp_path, agent=QLEARNING, seeds=(0,), total_steps=2_000, eval_every=500, name="run", **training):
    return parse_config({"env": {"id": "OptimalExec-v0"}, "agent": agent,
                         "training": {"total_steps": total_steps, "eval_every": eval_every, "eval_episodes": 200,
                                      **training},
                         "seeds": list(seeds), "output": str(tmp_path / name)})


def write_yaml(tmp_path, config, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config.to_dict()))
    return path


def unfinish(folder):
    """Make a finished seed look interrupted after its last checkpoint (its outputs are written after it)."""
    for name in ("result.json", "summary.md", "trajectory.png"):
        (folder / name).unlink(missing_ok=True)


def without_wall_time(result):
    return {key: value for key, value in result.items() if key != "wall_seconds"}


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def event_bytes(folder):
    return {path.name: path.read_bytes() for path in event_files(folder / "tensorboard")}


def test_a_run_that_failed_before_its_first_checkpoint_is_started_over(tmp_path, monkeypatch, capsys):
    config = config_of(tmp_path)

    def broken(*args, **kwargs):
        (config.output / "seed_0" / "tensorboard").mkdir(parents=True)
        (config.output / "seed_0" / "tensorboard" / "events.out.tfevents.1.host").write_bytes(b"partial")
        raise RuntimeError("out of luck")

    monkeypatch.setattr(run_module, "make_trainer", broken)
    with pytest.raises(SeedsFailed, match=r"seed\(s\) \[0\] failed: seed 0: RuntimeError: out of luck"):
        run_experiment(config)
    assert (config.output / "config.yaml").exists() and not (config.output / "result.json").exists()
    monkeypatch.undo()
    changed = config_of(tmp_path, {**QLEARNING, "num_envs": 8})
    run_experiment(changed)                                      # a plain rerun, even with another config
    assert "stopped before its first checkpoint: starting it over" in capsys.readouterr().err
    assert not (changed.output / "seed_0" / "tensorboard" / "events.out.tfevents.1.host").exists()
    assert parse_config(yaml.safe_load((changed.output / "config.yaml").read_text())).agent.num_envs == 8


def test_resume_starts_a_seed_without_checkpoint_over_cleanly(tmp_path):
    config = config_of(tmp_path, seeds=(0, 1))
    run_experiment(config)
    straight = json.loads((config.output / "seed_1" / "result.json").read_text())
    seed_1 = config.output / "seed_1"
    shutil.rmtree(seed_1 / "checkpoints")
    unfinish(seed_1)
    run_experiment(config, resume=True)
    resumed = json.loads((seed_1 / "result.json").read_text())
    assert without_wall_time(resumed) == without_wall_time(straight)
    steps = [step for step, _ in read_scalars(seed_1 / "tensorboard")["eval/regret_pct"]]
    assert steps == [point["steps"] for point in straight["curve"]]              # no events of the first try


@pytest.mark.parametrize("damage", ["truncated state.json", "state.json without steps", "truncated qtable.npz",
                                    "missing round.json"])
def test_resume_falls_back_to_the_previous_checkpoint_when_the_newest_is_corrupt(tmp_path, capsys, damage):
    config = config_of(tmp_path)
    run_experiment(config)
    folder = config.output / "seed_0"
    straight = json.loads((folder / "result.json").read_text())
    unfinish(folder)
    newest = checkpoints(folder / "checkpoints")[-1]
    name = next(word for word in damage.split() if "." in word)
    if damage.startswith("truncated"):
        truncate(newest / name)
    elif damage.startswith("missing"):
        (newest / name).unlink()
    else:
        (newest / name).write_text(json.dumps({"curve": [], "wall_seconds": 0.0}))
    run_experiment(config, resume=True)
    warning = capsys.readouterr().err
    assert f"warning: checkpoint {newest} is unusable: {newest / name}" in warning
    assert "trying the previous one" in warning
    # Q-learning resumed from any checkpoint is the uninterrupted run, bit for bit.
    assert without_wall_time(json.loads((folder / "result.json").read_text())) == without_wall_time(straight)


@pytest.mark.slow
def test_a_truncated_model_zip_falls_back_to_the_previous_checkpoint(tmp_path, capsys):
    rollout = 8 * 26
    config = config_of(tmp_path, PPO, total_steps=6 * rollout, eval_every=2 * rollout)
    run_experiment(config)
    folder = config.output / "seed_0"
    unfinish(folder)
    older, newest = checkpoints(folder / "checkpoints")
    truncate(newest / "model.zip")
    run_experiment(config, resume=True)
    assert f"checkpoint {newest} is unusable: {newest / 'model.zip'} does not read back" in capsys.readouterr().err
    result = json.loads((folder / "result.json").read_text())
    assert result["steps"] == 6 * rollout
    assert [step for step, _ in read_scalars(folder / "tensorboard")["eval/regret_pct"]] == \
        [point["steps"] for point in result["curve"]] == [2 * rollout, 4 * rollout, 6 * rollout]


@pytest.mark.slow
def test_a_seed_without_usable_checkpoint_fails_alone_and_keeps_its_history(tmp_path, capsys):
    config = config_of(tmp_path, seeds=(0, 1, 2))
    run_experiment(config)
    for seed in (0, 1, 2):
        unfinish(config.output / f"seed_{seed}")
    broken = config.output / "seed_1"
    for checkpoint in checkpoints(broken / "checkpoints"):
        truncate(checkpoint / "qtable.npz")
    history = event_bytes(broken)
    path = write_yaml(tmp_path, config)
    assert main(["run", str(path), "--resume"]) == 1
    captured = capsys.readouterr()
    assert re.search(rf"no usable checkpoint in {broken / 'checkpoints'}: .*qtable.npz does not read back.*"
                     rf"delete {broken} to train seed 1 again from scratch", captured.err)
    assert "execgym run: error: seed(s) [1] failed" in captured.err
    assert (config.output / "seed_0" / "result.json").exists() and (config.output / "seed_2" / "result.json").exists()
    aggregate = json.loads((config.output / "result.json").read_text())
    assert aggregate["seeds"] == [0, 2] and aggregate["failed_seeds"][0]["seed"] == 1
    assert "Seeds without a result" in (config.output / "summary.md").read_text()
    assert event_bytes(broken) == history                  # nothing truncated before the failure


def test_a_resume_that_cannot_write_truncates_nothing(tmp_path, monkeypatch):
    config = config_of(tmp_path)
    run_experiment(config)
    folder = config.output / "seed_0"
    unfinish(folder)
    shutil.rmtree(checkpoints(folder / "checkpoints")[-1])        # resuming cuts the history back to the older one
    history = event_bytes(folder)

    def full_disk(path):
        raise OSError(f"cannot write in {path}: No space left on device")

    monkeypatch.setattr(run_module, "check_writable", full_disk)
    with pytest.raises(SeedsFailed, match="No space left on device"):
        run_experiment(config, resume=True)
    assert event_bytes(folder) == history
    monkeypatch.undo()
    run_experiment(config, resume=True)
    assert event_bytes(folder) != history


def test_check_writable_names_the_folder(tmp_path):
    check_writable(tmp_path / "new" / "folder")
    assert (tmp_path / "new" / "folder").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=rf"cannot write in {tmp_path / 'file' / 'sub'}: "):
        check_writable(tmp_path / "file" / "sub")


@pytest.mark.slow
def test_a_corrupt_result_is_rebuilt_from_the_last_checkpoint(tmp_path, capsys):
    config = config_of(tmp_path, seeds=(0, 1))
    run_experiment(config)
    paths = [config.output / f"seed_{seed}" / "result.json" for seed in (0, 1)]
    originals = [json.loads(path.read_text()) for path in paths]
    truncate(paths[0])
    paths[1].write_text(json.dumps({key: value for key, value in originals[1].items() if key != "final"}))
    run_experiment(config, resume=True)
    warning = capsys.readouterr().err
    assert f"{paths[0]} does not read back (JSONDecodeError" in warning
    assert f"{paths[1]} lacks the key(s) ['final']: rebuilding it from the last checkpoint" in warning
    assert [json.loads(path.read_text()) for path in paths] == originals


def test_a_broken_stored_config_is_named(tmp_path, capsys):
    config = config_of(tmp_path)
    run_experiment(config)
    stored = config.output / "config.yaml"
    stored.write_text(stored.read_text()[:40])
    with pytest.raises(ValueError, match=rf"(?s)stored config of this run does not read back: {stored}.*Move {stored} away"):
        run_experiment(config, resume=True)
    assert main(["evaluate", "--run", str(config.output), "--episodes", "10"]) == 1
    assert str(stored) in capsys.readouterr().err


def test_evaluate_scores_the_previous_checkpoint_when_the_newest_is_corrupt(tmp_path, capsys):
    config = config_of(tmp_path)
    run_experiment(config)
    older, newest = checkpoints(config.output / "seed_0" / "checkpoints")
    truncate(newest / "qtable.npz")
    assert main(["evaluate", "--run", str(config.output), "--episodes", "10", "--json"]) == 0
    captured = capsys.readouterr()
    assert f"checkpoint {newest} is unusable" in captured.err and json.loads(captured.out)["policy"].endswith(f"({older})")


def test_evaluate_leaves_a_checkpoint_being_written_alone(tmp_path, capsys):
    """A run may be writing its next checkpoint while it is evaluated: evaluate only reads."""
    config = config_of(tmp_path)
    run_experiment(config)
    root = config.output / "seed_0" / "checkpoints"
    being_written = root / ".step_000000999999.tmpdir"
    being_written.mkdir()
    before = sorted(path.name for path in root.iterdir())
    assert main(["evaluate", "--run", str(config.output), "--episodes", "10", "--json"]) == 0
    assert sorted(path.name for path in root.iterdir()) == before and being_written.is_dir()


@pytest.mark.slow
def test_the_aggregate_covers_every_finished_seed_of_the_folder(tmp_path):
    config = config_of(tmp_path, seeds=(0, 1))
    path = write_yaml(tmp_path, config)
    assert main(["run", str(path)]) == 0
    assert main(["run", str(path), "--resume", "--seed", "2"]) == 0
    assert main(["run", str(path), "--resume", "--seed", "0"]) == 0
    aggregate = json.loads((config.output / "result.json").read_text())
    assert aggregate["seeds"] == [0, 1, 2] and [p["seed"] for p in aggregate["per_seed"]] == [0, 1, 2]
    regrets = [json.loads((config.output / f"seed_{s}" / "result.json").read_text())["final"]["regret_pct"]
               for s in (0, 1, 2)]
    assert aggregate["regret_pct_mean"] == pytest.approx(np.mean(regrets), rel=1e-12)
    assert aggregate["regret_pct_std"] == pytest.approx(np.std(regrets, ddof=1), rel=1e-12)
    assert "3 seed(s)" in (config.output / "summary.md").read_text()
    assert yaml.safe_load((config.output / "config.yaml").read_text())["seeds"] == [0, 1, 2]


def test_a_moved_run_resumes_and_changed_overrides_are_refused_by_name(tmp_path, capsys):
    config = config_of(tmp_path)
    run_experiment(config)
    unfinish(config.output / "seed_0")
    moved = tmp_path / "moved"
    shutil.move(config.output, moved)
    path = write_yaml(tmp_path, config)
    assert main(["run", str(path), "--resume", "--output", str(moved)]) == 0
    assert (moved / "seed_0" / "result.json").exists()
    unfinish(moved / "seed_0")
    capsys.readouterr()
    assert main(["run", str(path), "--resume", "--output", str(moved), "--set", "agent.hyperparameters.gamma=0.9"]) == 1
    assert re.search(r"differs from this config \(.* with agent.hyperparameters.gamma=0.9\) at "
                     r"agent.hyperparameters.gamma \(None there, 0.9 now\): a run resumes only", capsys.readouterr().err)
    assert not (moved / "seed_0" / "result.json").exists()


def test_stale_temporaries_are_removed_at_start(tmp_path):
    config = config_of(tmp_path)
    run_experiment(config)
    folder = config.output / "seed_0"
    unfinish(folder)
    stale = [config.output / ".result.json.k2j3h4.tmp", folder / ".result.json.x8y9z0.tmp",
             folder / "tensorboard" / f".{event_files(folder / 'tensorboard')[0].name}.abc123.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    kept = config.output / "notes.tmp"
    kept.write_text("not a temporary of ours")
    assert stale[2] not in event_files(folder / "tensorboard")
    run_experiment(config, resume=True)
    assert not any(path.exists() for path in stale) and kept.exists()
    assert remove_stale_temporaries(tmp_path / "absent") == []


def test_atomic_writes_flush_the_file_and_its_folder(tmp_path, monkeypatch):
    flushed = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        status = os.fstat(descriptor)
        flushed.append((status.st_dev, status.st_ino))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    inode = lambda path: (path.stat().st_dev, path.stat().st_ino)  # noqa: E731
    path = write_text_atomically(tmp_path / "result.json", "{}")
    assert inode(path) in flushed and inode(tmp_path) in flushed
    flushed.clear()
    checkpoint = save_checkpoint(tmp_path / "checkpoints", 5, {"steps": 5},
                                 lambda folder: (folder / "model.bin").write_bytes(b"weights"))
    for flushed_path in (checkpoint / "model.bin", checkpoint / "state.json", checkpoint, tmp_path / "checkpoints"):
        assert inode(flushed_path) in flushed


def test_strict_json_has_no_nan_and_says_why_a_number_is_missing(tmp_path):
    text = json_text({"mean": 1.5, "ci": float("nan"), "high": float("inf"), "curve": [1.0, float("-inf")]})
    assert json.loads(text) == {"mean": 1.5, "ci": None, "ci_note": "undefined (not a number)", "high": None,
                                "high_note": "inf (infinite)", "curve": [1.0, None]}
    assert "NaN" not in text and "Infinity" not in text
    (tmp_path / "bad.json").write_text('{"steps": 1')
    with pytest.raises(CorruptFile, match=r"bad.json does not read back \(JSONDecodeError"):
        read_json(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(CorruptFile, match="list.json does not hold a JSON object"):
        read_json(tmp_path / "list.json")


def test_a_one_seed_run_writes_no_nan_and_no_plus_minus_nan(tmp_path, capsys):
    config = config_of(tmp_path)
    path = write_yaml(tmp_path, config)
    assert main(["run", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "(one seed: no interval" in printed and "nan" not in printed.lower()
    for file in config.output.rglob("*"):
        if file.suffix in (".json", ".md", ".yaml", ".csv"):
            text = file.read_text()
            assert not re.search(r"\bnan\b|NaN|Infinity|\binf\b", text), file
            if file.suffix == ".json":
                json.loads(text, parse_constant=lambda constant: pytest.fail(f"{file}: {constant}"))
    aggregate = json.loads((config.output / "result.json").read_text())
    assert aggregate["regret_pct_ci95"] is None and aggregate["regret_pct_ci95_note"] == "one seed: no interval"
    assert aggregate["regret_pct_std"] is None


def test_pending_sb3_log_values_survive_strict_json(tmp_path):
    from execgym.experiments.trainers import _finite_or_text, _read_pending_log

    path = tmp_path / "pending_log.json"
    path.write_text(json_text([["train/explained_variance", _finite_or_text(float("nan")), []],
                               ["train/loss", _finite_or_text(0.25), ["stdout"]]]))
    (key, value, excluded), loss = _read_pending_log(path)
    assert key == "train/explained_variance" and np.isnan(value) and excluded == ()
    assert loss == ("train/loss", 0.25, ("stdout",))


@pytest.mark.slow
def test_progress_lines_are_written_when_the_output_is_not_a_terminal(tmp_path, capsys):
    rollout = 8 * 26
    config = config_of(tmp_path, PPO, total_steps=40 * rollout, eval_every=10 * rollout)
    run_experiment(config)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ppo seed 0: ")]
    pattern = re.compile(r"ppo seed 0: ([\d,]+)/8,320 steps \((\d+) %\), ([\d,]+) steps/s, "
                         r"(not evaluated yet|regret -?[\d.]+ ± [\d.]+ % \(at ([\d,]+) steps\))")
    assert 10 <= len(lines) <= 21
    parsed = [pattern.fullmatch(line) for line in lines]
    assert all(parsed), lines
    steps = [int(match[1].replace(",", "")) for match in parsed]
    assert steps == sorted(steps) and steps[-1] == 40 * rollout and parsed[-1][2] == "100"
    assert all(int(match[3].replace(",", "")) > 0 for match in parsed)
    assert int(parsed[-1][5].replace(",", "")) == 40 * rollout
    assert parsed[0][4] == "not evaluated yet"
