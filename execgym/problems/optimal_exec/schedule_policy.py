"""A deterministic schedule followed through OptimalExec's action space."""

from __future__ import annotations

import numpy as np

from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.params import OptimalExecParams


class SchedulePolicy:
    """Follows planned holdings x_0..x_N: in period k it takes the action that trades the planned
    n_k = x_{k−1} − x_k from the inventory x_{k−1} (:func:`dynamics.trade_to_action`).

    A planned trade outside its period's trade range (over a cap, or leaving more than the later
    caps can finish) is clipped to the range, and ``schedule`` is the plan as the env executes it.
    """

    def __init__(self, params: OptimalExecParams, holdings: np.ndarray, name: str) -> None:
        self.params = params
        self.name = name
        planned = -np.diff(schedule.check_holdings(params, holdings))
        executed = [params.shares]
        for k, trade in enumerate(planned):
            low, high = dynamics.trade_range(params, np.array([k]), np.array([executed[-1]]))
            executed.append(executed[-1] - float(np.clip(trade, low[0], high[0])))
        self.schedule = np.array(executed)
        periods = np.arange(params.periods)
        self.actions = dynamics.trade_to_action(params, periods, self.schedule[:-1], -np.diff(self.schedule))

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, _ = dynamics.decode(self.params, observations)
        return self.actions[elapsed][:, None].astype(np.float32)

    def __repr__(self) -> str:
        return f"SchedulePolicy({self.name!r})"
