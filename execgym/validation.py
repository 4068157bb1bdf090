"""Parameter and action checks shared by every params object and env: each failure names the parameter (or
the action space), the value received and the valid range, and raises ``ValueError``."""

from __future__ import annotations

import math
from dataclasses import fields
from numbers import Integral, Real

import numpy as np

REAL_KINDS = "fiu"
"""numpy dtype kinds of real numbers (floats and integers): what a Box action may hold."""
INTEGER_KINDS = "iu"
"""numpy dtype kinds of integers: what a Discrete or MultiDiscrete action may hold."""


def interval(low: float, high: float, low_open: bool = False, high_open: bool = False) -> str:
    """The interval [low, high] as messages write it, e.g. "(0, 1e+12]" (ends open if asked)."""
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def require_real(name: str, value, *, low: float = -math.inf, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False, reason: str = "") -> float:
    """``value`` as a float, checked finite and within the interval [low, high] (ends open if asked); ``reason``
    (e.g. the dimensionless bound the interval comes from) follows the interval in the message."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:                  # an integer beyond the float range
        number = math.inf if value > 0 else -math.inf
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if not math.isfinite(number) or below or above:
        note = f" ({reason})" if reason else ""
        raise ValueError(f"{name} must be in {interval(low, high, low_open, high_open)}{note}, got {value!r}")
    return number


def require_scaled(name: str, value, *, scale: float, low: float, high: float, ratio: str,
                   low_open: bool = False) -> float:
    """``value`` checked by :func:`require_real` to lie in [low·scale, high·scale] ((low·scale, ...] with
    ``low_open``): a bound on the dimensionless ``ratio`` = value/scale (its formula, which the message states
    with its range [low, high])."""
    return require_real(name, value, low=low * scale, high=high * scale, low_open=low_open,
                        reason=f"{ratio} in {interval(low, high, low_open)}")


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
    """``value`` checked to be one of the strings ``choices`` (anything else, arrays included, raises)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return str(value)


def require_bool(name: str, value) -> bool:
    """``value`` checked to be True or False (a Python bool: not 0, 1, a string or a numpy bool)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def real_array(name: str, value, what: str) -> np.ndarray:
    """``value`` (nested sequences or an array) as a float64 array; ValueError naming ``name`` and ``what`` it
    must be unless every entry is a real number (not a boolean, string, complex number or None) and the
    rows have equal lengths."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):        # ragged rows
        raise ValueError(f"{name} must be {what}, got {value!r}") from None
    if array.dtype.kind not in REAL_KINDS or (not isinstance(value, np.ndarray) and _holds_booleans(value)):
        raise ValueError(f"{name} must be {what} (real numbers), got {value!r}")
    return array.astype(np.float64)


def _holds_booleans(value) -> bool:
    """True when the nested sequence ``value`` holds a boolean (numpy turns [1.0, True] into floats)."""
    return isinstance(value, (bool, np.bool_)) or (isinstance(value, (list, tuple))
                                                   and any(_holds_booleans(item) for item in value))


def require_entries(name: str, array: np.ndarray, *, low: float = -math.inf, high: float = math.inf,
                    low_open: bool = False, allow_inf: bool = False) -> None:
    """Raise, naming the first offending entry (e.g. ``name[2][0]``), unless every entry of ``array`` is finite
    and within [low, high] ((low, high] with ``low_open``); ``allow_inf`` also accepts +inf."""
    bad = ~np.isfinite(array) | (array <= low if low_open else array < low) | (array > high)
    if allow_inf:
        bad &= ~np.isposinf(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = "".join(f"[{i}]" for i in index)
        bound = ("finite" if math.isinf(low) and math.isinf(high)
                 else f"in {interval(low, high, low_open)}{' or +inf' if allow_inf else ''}")
        raise ValueError(f"{name}{where} must be {bound}, got {float(array[index])!r}")


def require_per_period(name: str, value, periods: int, *, low: float = 0.0, high: float = math.inf,
                       low_open: bool = False, allow_inf: bool = False) -> tuple[float, ...]:
    """``value`` (one number per period, any sequence) as a tuple of ``periods`` floats, each finite and in
    [low, high] ((low, high] with ``low_open``; +inf also accepted with ``allow_inf``). The first offending
    entry is named."""
    items = real_array(name, value, f"a sequence of {periods} numbers (one per period)")
    if items.ndim != 1:
        raise ValueError(f"{name} must be a sequence of {periods} numbers (one per period), got shape {items.shape}")
    if len(items) != periods:
        raise ValueError(f"{name} must have one entry per period ({periods}), got {len(items)}")
    require_entries(name, items, low=low, high=high, low_open=low_open, allow_inf=allow_inf)
    return tuple(items.tolist())


def action_array(action, space, kinds: str) -> np.ndarray:
    """``action`` as a numpy array, checked to hold numbers of the dtype ``kinds`` (:data:`REAL_KINDS` for a
    Box, :data:`INTEGER_KINDS` for a Discrete or MultiDiscrete space); ValueError naming the action space
    ``space`` (any object, printed) for a missing action (None), booleans, strings, complex numbers or
    mixed objects, and for floats where integers are needed."""
    array = action if type(action) is np.ndarray else np.asarray(action)
    if array.dtype.kind in kinds:
        return array
    if action is None:
        raise ValueError(f"action is missing (got None): the action space {space} needs an action at every step")
    wanted = "real numbers (floats or integers)" if kinds == REAL_KINDS else "integers"
    raise ValueError(f"action must be {wanted} for the action space {space}, got {action!r} (dtype "
                     f"{array.dtype})")


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


def set_field(instance, name: str, value) -> None:
    """Store ``value`` (a checked or normalised field) as ``name`` of the frozen dataclass ``instance``, from its
    ``__post_init__``: a frozen dataclass refuses ordinary assignment, so this goes through
    ``object.__setattr__``, as dataclasses' own generated ``__init__`` does."""
    object.__setattr__(instance, name, value)
