"""Parameter checks shared by every params object: each failure names the parameter,
the value received and the valid range, and raises ``ValueError``."""

from __future__ import annotations

import math
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
