"""execgym run: every agent trains from a config, writes every output, and logs the oracle to TensorBoard."""

import json

import numpy as np
import pytest

from execgym.experiments.cli import main
from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment
from execgym.experiments.tensorboard_log import read_scalars
from execgym import make_oracle

AGENTS = {
    "ppo": {"algo": "ppo", "num_envs": 8, "hyperparameters": {"n_steps": 26, "batch_size": 52, "n_epochs": 2}},
    "trpo": {"algo": "trpo", "num_envs": 8, "hyperparameters": {"n_steps": 26, "batch_size": 52}},
    "qlearning": {"algo": "qlearning", "num_envs": 16, "discretisation": {"lots": 5}},
}


def tiny_config(tmp_path, algo, seeds=(0,), total_steps=624, eval_every=208):
    return parse_config({"env": {"id": "OptimalExec-v0"}, "agent": AGENTS[algo],
                         "training": {"total_steps": total_steps, "eval_every": eval_every, "eval_episodes": 200},
                         "seeds": list(seeds), "output": str(tmp_path / algo)})


@pytest.mark.parametrize("algo", sorted(AGENTS))
def test_each_agent_trains_and_writes_every_output(tmp_path, algo):
    config = tiny_config(tmp_path, algo, seeds=(0, 1))
    aggregate = run_experiment(config)
    out = config.output
    for name in ("config.yaml", "result.json", "summary.md"):
        assert (out / name).stat().st_size > 0
    oracle_return = make_oracle("OptimalExec-v0").expected_return
    for seed in (0, 1):
        folder = out / f"seed_{seed}"
        for name in ("result.json", "summary.md", "trajectory.png"):
            assert (folder / name).stat().st_size > 0
        assert (folder / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(list((folder / "checkpoints").iterdir())) == 2            # the newest two kept
        result = json.loads((folder / "result.json").read_text())
        assert result["steps"] >= config.training.total_steps
        assert np.isfinite([result["final"]["return"], result["final"]["regret_pct"]]).all()
        assert result["final"]["oracle_return"] == pytest.approx(oracle_return)
        scalars = read_scalars(folder / "tensorboard")
        evals = scalars["eval/regret_pct"]
        assert [step for step, _ in evals] == [point["steps"] for point in result["curve"]]
        assert [value for _, value in evals] == pytest.approx([p["regret_pct"] for p in result["curve"]], rel=1e-6)
        assert all(value == pytest.approx(oracle_return, rel=1e-6) for _, value in scalars["eval/oracle_return"])
        low, high = scalars["eval/regret_pct_low"][-1][1], scalars["eval/regret_pct_high"][-1][1]
        assert low <= evals[-1][1] <= high
        return_tag = "train/episode_return" if algo == "qlearning" else "rollout/ep_rew_mean"
        assert len(scalars[return_tag]) >= 2
        if algo != "qlearning":
            assert "train/value_loss" in scalars                              # the algorithm's own losses
    assert aggregate["seeds"] == [0, 1] and np.isfinite(aggregate["regret_pct_mean"])


def test_qlearning_is_also_scored_against_the_discretised_optimum(tmp_path):
    config = tiny_config(tmp_path, "qlearning")
    run_experiment(config)
    final = json.loads((config.output / "seed_0" / "result.json").read_text())["final"]
    from execgym.problems.optimal_exec.grid import LotGrid

    grid_value = LotGrid(config.env_params(), 5).oracle().expected_return
    assert final["discretised_optimum"]["oracle_return"] == pytest.approx(grid_value)
    # Both regrets are paired on the same episodes, so they differ by the grid optimum's own measured
    # regret against the continuous oracle on those episodes.
    from execgym import score

    grid_regret = score(LotGrid(config.env_params(), 5).oracle().policy, episodes=200,
                        seed=config.training.eval_seed).regret.mean
    assert final["regret"] - final["discretised_optimum"]["regret"] == pytest.approx(grid_regret, rel=1e-9)
    assert grid_regret > 0


@pytest.mark.parametrize("algo", ["ppo", "qlearning"])
def test_same_config_and_seed_give_the_same_result(tmp_path, algo):
    first = run_experiment(tiny_config(tmp_path / "a", algo))
    second = run_experiment(tiny_config(tmp_path / "b", algo))
    strip = lambda result: [{k: v for k, v in p.items() if k != "wall_seconds"} for p in result["per_seed"]]  # noqa
    assert strip(first) == strip(second)


def test_a_non_empty_output_is_never_overwritten(tmp_path):
    config = tiny_config(tmp_path, "qlearning")
    run_experiment(config)
    with pytest.raises(ValueError, match="not empty: pass --resume"):
        run_experiment(config)


def test_cli_run_and_evaluate(tmp_path, capsys):
    config = tiny_config(tmp_path, "qlearning")
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump(config.to_dict()))
    assert main(["run", str(path), "--seed", "3"]) == 0
    assert (config.output / "seed_3" / "result.json").exists() and not (config.output / "seed_0").exists()
    assert main(["evaluate", "--run", str(config.output), "--run-seed", "3", "--episodes", "100", "--json"]) == 0
    printed = capsys.readouterr().out
    scored = json.loads(printed[printed.index("{"):])
    assert scored["episodes"] == 100 and np.isfinite(scored["regret"]["mean"])
    assert main(["evaluate", "--baseline", "twap", "--param", "periods=5", "--episodes", "50"]) == 0
    assert main(["evaluate", "--oracle", "--param", "shares=oops"]) == 1
    capsys.readouterr()
    assert main(["evaluate", "--baseline", "depth_1", "--env", "LimitOrMarket-v0", "--episodes", "50"]) == 0
    assert main(["evaluate", "--baseline", "twap", "--env", "LimitOrMarket-v0"]) == 1
    assert "its baselines are ['always_market', 'depth_0'" in capsys.readouterr().err
