"""Baselines of OptimalExecRegimes-v0: deterministic schedules followed through the action space (each a
:class:`~execgym.problems.optimal_exec.schedule_policy.SchedulePolicy` of the base market, whose observation's
first entries are OptimalExec-v0's).

| name | schedule | what it ignores |
|---|---|---|
| ``twap`` | equal trades | impact, risk and regimes |
| ``calm`` | the Almgren–Chriss optimum of the initial regime's market | that the regime may switch |
| ``blind`` | the best deterministic schedule (:func:`~.oracle.blind_schedule`) | the regime it observes |
"""

from __future__ import annotations

import numpy as np

from execgym.problems.optimal_exec.lq_oracle import make_lq_oracle
from execgym.problems.optimal_exec.schedule_policy import SchedulePolicy
from execgym.problems.regime_exec.oracle import blind_schedule
from execgym.problems.regime_exec.params import RegimeExecParams


def baselines(params: RegimeExecParams) -> dict[str, SchedulePolicy]:
    """Every baseline by name (module docstring)."""
    twap = np.linspace(params.shares, 0.0, params.periods + 1)
    calm = make_lq_oracle(params.regime_params(params.initial_regime)).schedule
    return {name: SchedulePolicy(params.base, holdings, name) for name, holdings in
            (("twap", twap), ("calm", calm), ("blind", blind_schedule(params)[0]))}
