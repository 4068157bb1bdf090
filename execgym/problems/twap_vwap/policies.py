"""Baseline pacing strategies of TwapVwapSwitch, acting from observations like the oracle.

| baseline | action in every bucket | exact value, default market |
|---|---|---|
| :func:`twap` | 0, TWAP pace | −16.270 bps |
| :func:`vwap` | 1, VWAP pace | −16.528 bps |
| :func:`pov` | 2, POV (needs ``pov_rate``) | — |

Each is a :class:`SchedulePolicy` (a fixed action per day type and bucket,
whatever the remaining fraction), so :func:`~.oracle.policy_value` gives its
exact expected return and :func:`execgym.score` its regret against the
optimum on common random numbers; :func:`baseline_values` prices all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.problems.twap_vwap import dynamics
from execgym.problems.twap_vwap.oracle import policy_value
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.problems.twap_vwap.reachable import reachable_states
from execgym.validation import set_field


@dataclass(frozen=True)
class SchedulePolicy:
    """Takes ``schedule[r, t]`` in bucket t of a day of type r; ``schedule`` is (B,) (every day type alike) or
    (R, B), actions in 0..A−1. Terminal observations get the last bucket's action."""

    params: TwapVwapParams
    schedule: np.ndarray
    name: str = "schedule"

    def __post_init__(self) -> None:
        p = self.params
        schedule = np.asarray(self.schedule)
        if schedule.dtype.kind not in "iu" or schedule.shape not in ((p.buckets,), (p.day_types, p.buckets)):
            raise ValueError(f"schedule must be integer actions of shape (buckets,) = ({p.buckets},) or (day types, "
                             f"buckets) = ({p.day_types}, {p.buckets}), got {schedule.dtype} {schedule.shape}")
        if schedule.size and (schedule.min() < 0 or schedule.max() >= p.num_actions):
            raise ValueError(f"schedule actions must lie in 0..{p.num_actions - 1}, got "
                             f"{schedule.min()}..{schedule.max()}")
        set_field(self, "schedule", np.broadcast_to(schedule, (p.day_types, p.buckets)).astype(np.int64))

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, day, _ = dynamics.decode(self.params, observations)
        return self.schedule[day, np.minimum(elapsed, self.params.buckets - 1)]


def twap(params: TwapVwapParams) -> SchedulePolicy:
    """TWAP pace in every bucket: x/(B − t), the order spread evenly over time."""
    return SchedulePolicy(params, np.full(params.buckets, dynamics.TWAP), "twap")


def vwap(params: TwapVwapParams) -> SchedulePolicy:
    """VWAP pace in every bucket: the order traded along the day's volume profile, v_t = m_t/Σm."""
    return SchedulePolicy(params, np.full(params.buckets, dynamics.VWAP), "vwap")


def pov(params: TwapVwapParams) -> SchedulePolicy:
    """POV in every bucket: min(x, ρ·m_t/order_size), the rest in the last bucket; needs ``pov_rate``."""
    if params.pov_rate is None:
        raise ValueError("pov needs pov_rate (the participation rate ρ in (0, 1]); these params have pov_rate = None")
    return SchedulePolicy(params, np.full(params.buckets, dynamics.POV), "pov")


def baselines(params: TwapVwapParams) -> dict[str, SchedulePolicy]:
    """The baselines the params allow, by name: twap, vwap (and pov with ``pov_rate``)."""
    made = [twap(params), vwap(params)] + ([pov(params)] if params.pov_rate is not None else [])
    return {policy.name: policy for policy in made}


def baseline_values(params: TwapVwapParams) -> dict[str, float]:
    """The exact E[Σ reward] (bps) of each of :func:`baselines`."""
    states = reachable_states(params)
    return {name: policy_value(params, policy, states) for name, policy in baselines(params).items()}
