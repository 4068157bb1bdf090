"""What the estimates' uncertainty does to an optimum's value: redraw the estimates from their sampling
distributions, rebuild the params, solve each draw's optimum exactly, and take the quantiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from execgym.calibration.estimates import Estimate


def redraw(named: dict[str, Any], rng: np.random.Generator) -> dict[str, float]:
    """One draw of the named estimates: an :class:`Estimate`'s value + standard error × a Student t of its degrees
    of freedom (a normal for infinitely many; without a standard error, a rule of thumb, it is left out and stays);
    anything else (a :class:`~.estimates.JointEstimate`, a :class:`~.estimates.FillIntensity`) draws its own names
    jointly."""
    def shock(degrees: float) -> float:
        return float(rng.standard_t(degrees) if math.isfinite(degrees) else rng.standard_normal())

    values = {}
    for name, item in named.items():
        if not isinstance(item, Estimate):
            values.update(item.draw(rng))
        elif math.isfinite(item.standard_error):
            values[name] = item.value + item.standard_error * shock(item.degrees_of_freedom)
    return values


@dataclass(frozen=True)
class Interval:
    """An optimum's value at the estimates, and its 95 % interval over redraws of them."""

    value: float
    low: float
    high: float
    draws: int       # draws priced
    refused: int     # draws whose params were outside their valid ranges
    fixed: tuple[str, ...] = ()   # estimates held at their values: without a standard error (e.g. one day of data)

    def caveats(self) -> str:
        """The report's words on the draws refused and the estimates held fixed ("" when none)."""
        refused = f"; {self.refused} draws fell outside the params' valid ranges" if self.refused else ""
        fixed = f"; held at their estimates (no standard error): {', '.join(self.fixed)}" if self.fixed else ""
        return refused + fixed


def over_draws(named: dict[str, Any], params_of: Callable[[dict[str, float]], Any],
               value_of: Callable[[Any], float], draws: int, seed: int = 0) -> Interval:
    """``value_of(params_of({}))`` at the estimates, and the 2.5 % and 97.5 % quantiles of
    ``value_of(params_of(redraw(named)))`` over ``draws`` draws; draws whose params raise ValueError are counted,
    not priced (ValueError if none is left)."""
    rng = np.random.default_rng(seed)
    values, refused = [], 0
    for _ in range(draws):
        try:
            params = params_of(redraw(named, rng))
        except ValueError:
            refused += 1
            continue
        values.append(value_of(params))
    if not values:
        raise ValueError(f"none of {draws} draws of the estimates gave valid params: the estimates are too uncertain")
    low, high = np.quantile(values, [0.025, 0.975])
    fixed = tuple(name for name, item in named.items()
                  if isinstance(item, Estimate) and not math.isfinite(item.standard_error))
    return Interval(float(value_of(params_of({}))), float(low), float(high), len(values), refused, fixed)
