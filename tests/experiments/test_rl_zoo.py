"""The shipped RL Zoo hyperparameter files train OptimalExec-v0 through `python -m rl_zoo3.train`."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rl_zoo3")
ZOO = Path(__file__).parents[2] / "experiments" / "rl_zoo"


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_rl_zoo_trains_optimal_exec_from_the_shipped_file(tmp_path, algo):
    conf = yaml.safe_load((ZOO / f"{algo}.yml").read_text())
    assert "OptimalExec-v0" in conf
    completed = subprocess.run(
        [sys.executable, "-m", "rl_zoo3.train", "--algo", algo, "--env", "OptimalExec-v0", "--gym-packages", "execgym",
         "--conf-file", str(ZOO / f"{algo}.yml"), "-n", "2000", "-f", str(tmp_path), "--eval-freq", "-1",
         "--hyperparams", "n_envs:4", "n_steps:64", "batch_size:64"],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    saved = tmp_path / algo / "OptimalExec-v0_1" / "OptimalExec-v0.zip"
    assert saved.stat().st_size > 0
