"""The trajectory plot a run writes (the agent's inventory beside the oracle's schedule) draws for the first
registered env of every params class whose oracle has a schedule (the plot reads the params' order, horizon,
periods, shares and risk aversion)."""

import numpy as np
import pytest

import execgym
from execgym.experiments.plots import inventory_figure, save_png
from execgym.registry import PROBLEMS, problem

FIRST_OF_EACH_CLASS = {spec.params_class: env_id for env_id, spec in reversed(list(PROBLEMS.items()))}
WITH_SCHEDULES = [env_id for env_id in FIRST_OF_EACH_CLASS.values() if execgym.make_oracle(env_id).schedule is not None]


@pytest.mark.parametrize("env_id", WITH_SCHEDULES)
def test_the_trajectory_plot_draws(env_id, tmp_path):
    """The oracle's own schedule as the agent's one path, in the shape a run records: (N + 1, episodes) fractions of
    the order, or (N + 1, episodes, m) for m assets."""
    params = problem(env_id).params()
    schedule = execgym.make_oracle(env_id, params=params).schedule
    inventories = (schedule / np.asarray(params.shares, dtype=np.float64))[:, None]
    figure = inventory_figure(params, inventories, schedule, label="oracle")
    assert save_png(figure, tmp_path / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
