"""execgym run on a distribution of markets: trained on the train split, scored on the test and OOD sets at every
evaluation, each market against its own optimum."""

import json

import numpy as np
import pytest

from execgym.distributions import market_set
from execgym.experiments.config import ConfigError, load_yaml, parse_config
from execgym.experiments.run import run_experiment
from execgym.experiments.tensorboard_log import read_scalars
from execgym import make_oracles

PPO = {"algo": "ppo", "num_envs": 8, "hyperparameters": {"n_steps": 26, "batch_size": 52, "n_epochs": 2}}


def markets_config(tmp_path, **env):
    return parse_config({"env": {"id": "OptimalExec-v0", "markets": "train", **env}, "agent": PPO,
                         "training": {"total_steps": 416, "eval_every": 208, "eval_markets": ["test", "ood"],
                                      "eval_episodes_per_market": 2},
                         "seeds": [0], "output": str(tmp_path / "markets")})


@pytest.mark.slow
def test_a_run_on_markets_is_scored_on_each_set_against_each_markets_optimum(tmp_path):
    config = markets_config(tmp_path)
    run_experiment(config)
    folder = config.output / "seed_0"
    result = json.loads((folder / "result.json").read_text())
    final = result["final"]
    for split in ("test", "ood"):
        assert final[split]["markets"] == 256
        optima = [oracle.expected_return for oracle in make_oracles("OptimalExec-v0", list(market_set(
            "OptimalExec-v0", split)))]
        assert final[split]["oracle_return"] == pytest.approx(np.mean(optima), rel=1e-12)
        assert final[split]["iqm_pct"] <= final[split]["worst_decile_pct"]
    assert final["regret_pct"] == final["test"]["regret_pct"]          # the first set is the score
    scalars = read_scalars(folder / "tensorboard")
    assert [step for step, _ in scalars["eval_ood/regret_pct"]] == [point["steps"] for point in result["curve"]]
    assert scalars["eval_test/worst_decile_pct"][-1][1] == pytest.approx(final["test"]["worst_decile_pct"], rel=1e-6)
    summary = (folder / "summary.md").read_text()
    assert "256 markets (test), 256 markets (ood)" in summary and "| ood |" in summary
    assert (folder / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("change, message", [
    ({"env": {"markets": "tomorrow"}}, r"env.markets: expected train .* or a list of markets, got 'tomorrow'"),
    ({"env": {"markets": "test"}}, r"env.markets: expected train \(the held-out sets are what it is scored on\)"),
    ({"env": {"markets": [3]}}, r"env.markets: expected train or a non-empty list of mappings"),
    ({"env": {"observe_market": "index"}}, r"observe_market: index needs a list of markets"),
    ({"training": {"eval_markets": ["train"]}}, r"eval_markets: expected a non-empty list of \['test', 'ood'\]"),
    ({"env": {"observe_market": "yes"}}, r"env.observe_market: expected true, false or index"),
    ({"training": {"eval_markets": []}}, r"training.eval_markets: expected a non-empty list"),
    ({"training": {"eval_markets": ["valid"]}}, r"training.eval_markets: expected a non-empty list"),
    ({"training": {"eval_episodes_per_market": 1}}, r"eval_episodes_per_market must be >= 2"),
    ({"agent": {"algo": "qlearning"}}, r"qlearning's state is the market and the problem's state"),
])
def test_bad_markets_keys_name_the_key(tmp_path, change, message):
    data = {"env": {"id": "OptimalExec-v0", "markets": "train"}, "agent": dict(PPO),
            "training": {"total_steps": 416, "eval_every": 208}}
    for section, values in change.items():
        data[section] = {**data[section], **values}
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_markets_keys_are_checked_without_markets_too():
    data = {"env": {"id": "OptimalExec-v0"}, "agent": dict(PPO), "training": {"total_steps": 416, "eval_every": 208}}
    for change, message in ((("env", "observe_market", False), "observe_market applies with env.markets"),
                            (("training", "eval_markets", ["bogus"]), "eval_markets: expected a non-empty list"),
                            (("training", "eval_episodes_per_market", 0), "eval_episodes_per_market must be >= 2")):
        section, key, value = change
        with pytest.raises(ConfigError, match=message):
            parse_config({**data, section: {**data[section], key: value}})


def test_the_markets_config_round_trips(tmp_path):
    config = markets_config(tmp_path, observe_market=False)
    assert parse_config(load_yaml(json.dumps(config.to_dict()))) == config
    assert config.env_kwargs() == {"markets": "train", "observe_market": False}


@pytest.mark.slow
def test_qlearning_learns_a_table_per_listed_market_and_is_scored_on_each(tmp_path):
    markets = [{"risk_aversion": 1e-8}, {"risk_aversion": 5e-6}, {"volatility": 5.0}]
    config = parse_config({"env": {"id": "OptimalExec-v0", "markets": markets, "observe_market": "index"},
                           "agent": {"algo": "qlearning", "num_envs": 64, "discretisation": {"lots": 4}},
                           "training": {"total_steps": 20_000, "eval_every": 10_000, "eval_episodes_per_market": 4},
                           "seeds": [0], "output": str(tmp_path / "q")})
    run_experiment(config)
    result = json.loads((config.output / "seed_0" / "result.json").read_text())
    final = result["final"]["markets"]
    optima = [oracle.expected_return for oracle in make_oracles("OptimalExec-v0", markets)]
    assert final["markets"] == 3 and final["oracle_return"] == pytest.approx(np.mean(optima), rel=1e-12)
    with pytest.raises(ConfigError, match="set env.observe_market: index"):
        parse_config({**config.to_dict(), "env": {"id": "OptimalExec-v0", "markets": markets}})
    with pytest.raises(ConfigError, match=r"env.markets\[1\]: volatility must be"):
        parse_config({**config.to_dict(), "env": {"id": "OptimalExec-v0", "markets": [{}, {"volatility": -1.0}],
                                                  "observe_market": "index"}})


def test_cli_evaluates_a_baseline_on_every_market_of_a_split(tmp_path, capsys):
    from execgym.experiments.cli import main

    assert main(["evaluate", "--baseline", "median_oracle", "--markets", "ood", "--episodes-per-market", "2",
                 "--json", "--plot", str(tmp_path / "regret.png")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["policy"] == "median_oracle" and printed["set"] == "ood" and len(printed["markets"]) == 256
    assert (tmp_path / "regret.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["evaluate", "--baseline", "twap", "--markets", "test", "--reference", "vwap"]) == 1
    assert "every market is scored against its own optimum" in capsys.readouterr().err
