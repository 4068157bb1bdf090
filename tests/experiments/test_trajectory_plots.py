"""The trajectory plot a run writes (the agent's inventory beside the oracle's schedule) draws for the first
registered env of every params class whose oracle has a schedule, from the paths the run records."""

import numpy as np
import pytest

import execgym
from execgym.experiments.plots import inventory_figure, save_png
from execgym.experiments.run import observation_paths
from execgym.registry import PROBLEMS, problem

FIRST_OF_EACH_CLASS = {spec.params_class: env_id for env_id, spec in reversed(list(PROBLEMS.items()))}
WITH_SCHEDULES = [env_id for env_id in FIRST_OF_EACH_CLASS.values() if execgym.make_oracle(env_id).schedule is not None]


@pytest.mark.parametrize("env_id", WITH_SCHEDULES)
def test_the_trajectory_plot_draws(env_id, tmp_path):
    params = problem(env_id).params()
    oracle = execgym.make_oracle(env_id, params=params)
    paths = observation_paths(oracle.policy, env_id, params, np.arange(4), observe_market=False)
    assets = 1 if np.ndim(oracle.schedule) == 1 else np.shape(oracle.schedule)[1]
    inventories = paths[:, :, 1] if assets == 1 else paths[:, :, 1:1 + assets]
    figure = inventory_figure(params, inventories, oracle.schedule, label="oracle")
    assert save_png(figure, tmp_path / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
