"""Parameter checks shared by every params object: each failure names the parameter,
the value received and the valid range, and raises ``ValueError``."""

from __future__ import annotations

import math
from dataclasses import fields
from numbers import Integral, Real


def require_real(name: str, value, *, low: float = -math.inf, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float, checked finite and within the interval [low, high] (ends open if asked)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}")
    return value


def require_int(name: str, value, *, low: int, high: int | None = None) -> int:
    """``value`` as an int, checked within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < low or (high is not None and value > high):
        upper = "inf)" if high is None else f"{high}]"
        raise ValueError(f"{name} must be an integer in [{low}, {upper}, got {value}")
    return value


def require_choice(name: str, value, choices: tuple[str, ...]) -> str:
    """``value`` checked to be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def require_per_period(name: str, value, periods: int, *, low: float = 0.0, low_open: bool = False,
                       allow_inf: bool = False) -> tuple[float, ...]:
    """``value`` (one number per period, any sequence) as a tuple of ``periods`` floats, each > ``low``
    (or >= with ``low_open=False``) and finite unless ``allow_inf`` (+inf only). The first offending
    entry is named."""
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of {periods} numbers (one per period), got {value!r}") from None
    if len(items) != periods:
        raise ValueError(f"{name} must have one entry per period ({periods}), got {len(items)}")
    for i, item in enumerate(items):
        too_low = item <= low if low_open else item < low
        bad_inf = math.isinf(item) and not (allow_inf and item > 0)
        if math.isnan(item) or bad_inf or too_low:
            bound = f"> {low:g}" if low_open else f">= {low:g}"
            kind = " (or +inf)" if allow_inf else " and finite"
            raise ValueError(f"{name}[{i}] must be {bound}{kind}, got {item!r}")
    return tuple(items)


def params_from_kwargs(cls: type, params, kwargs: dict, problem: str):
    """A problem's params object: ``params`` as given (an instance of ``cls``), or ``cls(**kwargs)``; passing
    both, a wrong type or a keyword that is not a field of ``cls`` raises ``ValueError`` naming the valid fields."""
    if params is not None:
        if kwargs:
            raise ValueError(f"pass either params= or keyword parameters, not both (got {sorted(kwargs)})")
        if not isinstance(params, cls):
            raise ValueError(f"params must be a {cls.__name__}, got {type(params).__name__}")
        return params
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {problem}; valid names: {sorted(known)}")
    return cls(**kwargs)
