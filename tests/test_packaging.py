"""The distribution: one top-level import (execgym), no benchmark scripts, a core that needs no torch.

The slow checks build the sdist and the wheel as a user would (``python -m build``), run ``twine check`` on
them, install the wheel alone (the core, no extras) into a fresh virtual environment and run the quickstart
there, with torch, stable-baselines3 and tensorboard absent.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from execgym.experiments.config import parse_config
from execgym.experiments.run import run_experiment

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
AGENT_MODULES = ("torch", "stable_baselines3", "sb3_contrib", "tensorboard")


def package_folders() -> set[str]:
    """Every folder with an ``__init__.py`` that the distribution should ship, by its import name."""
    roots = {"execgym": ROOT / "execgym", **{name: ROOT / folder for name, folder in SETUPTOOLS["package-dir"].items()}}
    names = set()
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            if "benchmarks" not in relative and "__pycache__" not in relative:
                names.add(".".join((name, *relative)))
    return names


def test_every_package_folder_is_listed_and_only_those():
    assert set(SETUPTOOLS["packages"]) == package_folders()


def test_the_command_line_and_the_extras_point_inside_execgym():
    assert PYPROJECT["project"]["scripts"] == {"execgym": "execgym.experiments.cli:main"}
    core = " ".join(PYPROJECT["project"]["dependencies"])
    assert not any(name.replace("_", "-") in core for name in ("torch", "stable-baselines3", "sb3-contrib", "tensorboard"))
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"agents", "ray", "tune", "zoo", "test"} <= set(extras)


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    return out


@pytest.mark.slow
def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(distributions):
    files = sorted(path.name for path in distributions.iterdir())
    assert len(files) == 2 and any(name.endswith(".tar.gz") for name in files) \
        and any(name.endswith(".whl") for name in files), files
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, distributions.iterdir())],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.slow
def test_the_wheel_installs_only_execgym(distributions):
    wheel = next(distributions.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(name for name in names if name.endswith("top_level.txt"))
        assert archive.read(top_level).decode().split() == ["execgym"]
    assert {name.split("/")[0] for name in names} == {"execgym", wheel.name.split("-")[0] + "-" +
                                                      wheel.name.split("-")[1] + ".dist-info"}
    assert not [name for name in names if "benchmarks" in name]
    assert "execgym/experiments/configs/ppo_optimal_exec.yaml" in names
    assert "execgym/agents/qlearning.py" in names and "execgym/experiments/cli.py" in names


@pytest.mark.slow
def test_the_core_wheel_runs_the_quickstart_without_torch(distributions, tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    wheel = next(distributions.glob("*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)],
                   check=True, capture_output=True, timeout=900)
    probe = ("import sys, gymnasium as gym, execgym\n"
             "env = gym.make('OptimalExec-v0'); env.reset(seed=0); env.step(env.action_space.sample())\n"
             "venv = gym.make_vec('MarketMaking-v0', num_envs=4); venv.reset(seed=0)\n"
             "result = execgym.score(execgym.make_baseline('OptimalExec-v0', 'twap'), 'OptimalExec-v0', episodes=100)\n"
             f"print(sorted(set({AGENT_MODULES!r}) & set(sys.modules)))\n")
    imported = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().splitlines()[-1] == "[]"
    for module in AGENT_MODULES:
        missing = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=60)
        assert missing.returncode != 0, f"{module} was installed with the core"
    command = environment / "bin" / "execgym"
    quickstart = subprocess.run([str(command), "quickstart", "--episodes", "2000", "--out", str(tmp_path / "out")],
                                capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert quickstart.returncode == 0, quickstart.stderr
    assert "oracle's exact cost 48.006 bps" in " ".join(quickstart.stdout.split())
    assert {path.name for path in (tmp_path / "out").iterdir()} == {"summary.md", "trajectories.png", "frontier.png"}
    refused = subprocess.run([str(command), "run", "config.yaml"], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path)
    assert refused.returncode == 1 and "execgym[agents]" in refused.stderr
    run = tmp_path / "qlearning"
    run_experiment(parse_config({"env": {"id": "OptimalExec-v0"}, "agent": {"algo": "qlearning", "num_envs": 8},
                                 "training": {"total_steps": 500, "eval_every": 500, "eval_episodes": 10},
                                 "output": str(run)}))
    evaluated = subprocess.run([str(command), "evaluate", "--run", str(run), "--episodes", "10"], capture_output=True,
                               text=True, timeout=120, cwd=tmp_path)
    assert evaluated.returncode == 1 and "needs the optional extra 'agents'" in evaluated.stderr, evaluated.stderr
