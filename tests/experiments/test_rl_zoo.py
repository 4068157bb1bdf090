"""The RL Zoo hyperparameter files are generated from the experiment configs (one source), and rl_zoo3 trains
from them and replays the trained model (`python -m rl_zoo3.train`, `python -m rl_zoo3.enjoy`)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from torch import nn

from execgym.agents.sb3 import model_kwargs
from execgym.experiments.config import parse_config
from execgym.experiments.rl_zoo import ZOO, NotExpressible, zoo_entry, zoo_files

ROOT = Path(__file__).parents[2]


def config(algo="ppo", env_id="OptimalExec-v0", params=None, **hyperparameters):
    return parse_config({"env": {"id": env_id, "params": params or {}},
                         "agent": {"algo": algo, "num_envs": 16, "hyperparameters": hyperparameters},
                         "training": {"total_steps": 5000, "eval_every": 1000}})


def test_the_committed_zoo_files_are_what_the_configs_generate():
    generated = zoo_files()
    assert sorted(generated) == ["ppo.yml", "trpo.yml"]
    for name, text in generated.items():
        assert (ZOO / name).read_text() == text, f"run `python -m execgym.experiments.rl_zoo` to regenerate {name}"
    trpo = yaml.safe_load(generated["trpo.yml"])
    assert set(trpo) == {"LimitOrMarket-v0", "MarketMaking-v0", "OptimalExec-v0", "OptimalExecRegimes-v0",
                         "OptimalExecTransient-v0", "PortfolioExec-v0", "TwapVwapSwitch-v0"}
    assert trpo["OptimalExecRegimes-v0"]["env_wrapper"] == "execgym.wrappers.ExpectedRewards"    # expected rewards
    assert "env_wrapper" not in trpo["OptimalExec-v0"]


def test_a_config_becomes_the_zoo_entry_rl_zoo3_reads_as_the_same_model_arguments():
    entry = zoo_entry(config("trpo", "TwapVwapSwitch-v0", {"volatility": 5.0}, n_steps=32, target_kl=0.01,
                             policy_kwargs={"log_std_init": -1.0, "activation_fn": "relu", "net_arch": [32, 32]}))
    assert entry == {"n_envs": 16, "n_timesteps": 5000, "policy": "MlpPolicy", "env_kwargs": {"volatility": 5.0},
                     "n_steps": 32, "target_kl": 0.01,
                     "policy_kwargs": "dict(log_std_init=-1.0, activation_fn=nn.ReLU, net_arch=[32, 32])"}
    evaluated = eval(entry["policy_kwargs"], {"nn": nn})                      # as rl_zoo3 reads it
    assert evaluated == model_kwargs("trpo", {"policy_kwargs": {"log_std_init": -1.0, "activation_fn": "relu",
                                                                "net_arch": [32, 32]}})["policy_kwargs"]
    assert zoo_entry(config(learning_rate={"linear": [1e-3, 0.0]}))["learning_rate"] == "lin_0.001"


def test_what_rl_zoo3_cannot_express_is_refused_with_the_reason():
    with pytest.raises(NotExpressible, match="from 0.001 to 0.0001, and rl_zoo3's linear schedule .* only decays "
                                             "to 0"):
        zoo_entry(config(learning_rate={"linear": [1e-3, 1e-4]}))
    with pytest.raises(NotExpressible, match="rl_zoo3 has no maskable_ppo"):
        zoo_entry(config("maskable_ppo", "BasketSequence-v0"))
    assert "ppo_market_making.yaml: learning_rate decays linearly" in zoo_files()["ppo.yml"]


def zoo(module, *args, cwd):
    completed = subprocess.run([sys.executable, "-m", f"rl_zoo3.{module}", *args], capture_output=True, text=True,
                               timeout=600, cwd=cwd)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def train(algo, env_id, folder):
    """Train ``algo`` on ``env_id`` from the shipped file for 2,000 steps into ``folder`` (small batches)."""
    zoo("train", "--algo", algo, "--env", env_id, "--gym-packages", "execgym", "--conf-file", str(ZOO / f"{algo}.yml"),
        "-n", "2000", "-f", str(folder), "--eval-freq", "-1", "--hyperparams", "n_envs:4", "n_steps:64",
        "batch_size:64", cwd=ROOT)
    saved = folder / algo / f"{env_id}_1" / f"{env_id}.zip"
    assert saved.stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("algo, env_id", [("ppo", "OptimalExec-v0"), ("ppo", "LimitOrMarket-v0"),
                                          ("trpo", "MarketMaking-v0"), ("trpo", "TwapVwapSwitch-v0")])
def test_rl_zoo_trains_from_the_shipped_files(tmp_path, algo, env_id):
    pytest.importorskip("rl_zoo3")
    train(algo, env_id, tmp_path)         # a lin_ schedule, nn.ReLU policy_kwargs, env_kwargs


@pytest.mark.slow
def test_rl_zoo_enjoys_a_trained_model(tmp_path):
    pytest.importorskip("rl_zoo3")
    train("ppo", "OptimalExec-v0", tmp_path)
    out = zoo("enjoy", "--algo", "ppo", "--env", "OptimalExec-v0", "--gym-packages", "execgym", "-f", str(tmp_path),
              "--no-render", "-n", "50", "--deterministic", cwd=tmp_path)
    assert "Loading latest experiment, id=1" in out
    assert out.count("Episode Length 13") == 3                 # 50 steps of 13-period episodes
    assert not (tmp_path / "logs").exists()                    # -f kept everything in the folder given
