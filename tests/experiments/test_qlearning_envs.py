"""Q-learning through `execgym run` on every env with a tabular view: PortfolioExec-v0 (two assets, lot grid) and
BasketSequence-v0 (masked trades); exact resume; a clear error for envs without a view."""

import json
import shutil

import pytest

from execgym import make_oracle
from execgym.problems.basket_sequence.grid import BasketGrid
from execgym.problems.portfolio_exec.grid import PortfolioLotGrid
from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment
from execgym.experiments.tensorboard_log import read_scalars

BOOK = {"holdings": [600_000.0, -400_000.0], "arrival_prices": [100.0, 50.0],
        "covariance": [[2.5, 0.6], [0.6, 0.9]], "risk_aversion": 1e-6, "periods": 4}
ENVS = {
    "portfolio": ({"id": "PortfolioExec-v0", "params": BOOK}, {"lots": 3}),
    "basket": ({"id": "BasketSequence-v0", "params": {"trades": 5, "instance_seed": 3}}, {}),
}


def config_of(tmp_path, name, total_steps=2_000, eval_every=1_000, output=None):
    env, discretisation = ENVS[name]
    return parse_config({"env": env, "agent": {"algo": "qlearning", "num_envs": 16, "discretisation": discretisation,
                                               "hyperparameters": {"step_size_exponent": 0.7}},
                         "training": {"total_steps": total_steps, "eval_every": eval_every, "eval_episodes": 200},
                         "seeds": [0], "output": str(tmp_path / (output or name))})


def final_result(config):
    return json.loads((config.output / "seed_0" / "result.json").read_text())["final"]


@pytest.mark.slow
def test_portfolio_run_writes_every_output_scored_against_the_grid_optimum_and_the_lq_oracle(tmp_path):
    config = config_of(tmp_path, "portfolio")
    run_experiment(config)
    folder = config.output / "seed_0"
    for name in ("result.json", "summary.md", "trajectory.png"):
        assert (folder / name).stat().st_size > 0
    final = final_result(config)
    params = config.env_params()
    assert final["steps"] >= 2_000
    assert final["oracle_return"] == pytest.approx(make_oracle("PortfolioExec-v0", params).expected_return)
    grid_value = PortfolioLotGrid(params, 3).oracle().expected_return
    assert final["discretised_optimum"]["oracle_return"] == pytest.approx(grid_value)
    assert final["discretised_optimum"]["oracle_return"] < final["oracle_return"]
    assert "discretised_optimum" in (folder / "summary.md").read_text()


def test_basket_run_is_scored_against_held_karp_twice(tmp_path):
    config = config_of(tmp_path, "basket")
    run_experiment(config)
    final = final_result(config)
    held_karp = make_oracle("BasketSequence-v0", config.env_params()).expected_return
    assert BasketGrid(config.env_params()).oracle().expected_return == held_karp
    assert final["oracle_return"] == final["discretised_optimum"]["oracle_return"] == pytest.approx(held_karp)
    assert final["regret"] == final["discretised_optimum"]["regret"]
    assert final["regret"] >= -1e-9                                   # nothing beats Held–Karp on common noise
    assert (config.output / "seed_0" / "summary.md").stat().st_size > 0


def test_basket_run_resumed_from_its_older_checkpoint_equals_the_uninterrupted_run(tmp_path):
    straight = config_of(tmp_path, "basket", total_steps=3_000, eval_every=600, output="straight")
    run_experiment(straight)
    resumed = config_of(tmp_path, "basket", total_steps=3_000, eval_every=600, output="resumed")
    shutil.copytree(straight.output, resumed.output)
    seed = resumed.output / "seed_0"
    kept = sorted((seed / "checkpoints").iterdir())
    assert len(kept) == 2
    shutil.rmtree(kept[-1])                                          # as if killed before the last checkpoint
    for path in (seed / "result.json", seed / "summary.md", resumed.output / "result.json",
                 resumed.output / "summary.md", resumed.output / "config.yaml"):
        path.unlink()
    with open(kept[0] / "qtable.npz", "rb") as saved:
        assert b"action_mask" in saved.read()                         # the mask is in the checkpoint
    run_experiment(resumed, resume=True)

    def result(config):
        data = json.loads((config.output / "seed_0" / "result.json").read_text())
        data.pop("wall_seconds")
        return data

    assert result(resumed) == result(straight)
    assert len(result(straight)["curve"]) == 5
    assert read_scalars(resumed.output / "seed_0" / "tensorboard") == \
        read_scalars(straight.output / "seed_0" / "tensorboard")


def test_an_env_without_a_tabular_view_is_refused_before_anything_is_written(tmp_path):
    config = parse_config({"env": {"id": "OptimalExecNonlinear-v0"}, "agent": {"algo": "qlearning"},
                           "training": {"total_steps": 100, "eval_every": 100}, "output": str(tmp_path / "x")})
    with pytest.raises(ValueError, match=r"qlearning with agent.discretisation \{\}: env 'OptimalExecNonlinear-v0' "
                                         r"has no tabular view .*; envs with one: \['BasketSequence-v0', "
                                         r"'LimitOrMarket-v0', 'MarketMaking-v0', 'OptimalExec-v0', "
                                         r"'OptimalExecRegimes-v0', 'PortfolioExec-v0', 'TwapVwapSwitch-v0'\]"):
        run_experiment(config)
    assert not config.output.exists()


@pytest.mark.parametrize("name, discretisation, message", [
    ("basket", {"lots": 4}, r"agent.discretisation \{'lots': 4\}: unknown option\(s\) \['lots'\] for the tabular view of "
                            r"BasketSequence-v0 \(BasketGrid\); valid: \[\]"),
    ("portfolio", {"lots": 3, "max_trade_lots": 4}, r"max_trade_lots must be an integer in \[1, 3\]"),
])
def test_invalid_discretisations_are_refused(tmp_path, name, discretisation, message):
    env, _ = ENVS[name]
    config = parse_config({"env": env, "agent": {"algo": "qlearning", "discretisation": discretisation},
                           "training": {"total_steps": 100, "eval_every": 100}, "output": str(tmp_path / "x")})
    with pytest.raises(ValueError, match=message):
        run_experiment(config)
