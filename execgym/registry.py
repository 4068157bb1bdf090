"""The table of problems: for each env id, its params class, environments, oracle, named baselines, tabular view
and a one-line description.

The table is built from the problems' own specs: every sub-package of :mod:`execgym.problems` has a ``spec.py``
whose ``SPECS`` lists its :class:`Problem` records, and importing this module registers them all, sorted by
:attr:`Problem.order`, here and with Gymnasium. :func:`add_problem` registers a spec defined anywhere else.
:func:`execgym.make_oracle`, :func:`make_baseline`, :func:`execgym.score` and :func:`execgym.tabular.tabular_view`
look problems up here.
"""

from __future__ import annotations

import importlib
import pkgutil

from gymnasium.envs.registration import register

import execgym.problems
from execgym.policy import ORACLE_CACHE, Oracle, Policy
from execgym.problems import Problem, ViewSpec

__all__ = ["PROBLEMS", "Problem", "ViewSpec", "add_problem", "make_baseline", "make_oracle", "problem"]

PROBLEMS: dict[str, Problem] = {}
"""Every registered env id's :class:`Problem`, in listing order."""


def add_problem(spec: Problem) -> Problem:
    """Register ``spec``: its env id joins :data:`PROBLEMS` (so :func:`problem`, :func:`make_oracle`,
    :func:`make_baseline`, :func:`execgym.score` and, if it has one, its tabular view find it) and Gymnasium's
    registry (``gym.make(spec.env_id, ...)`` with ``spec.defaults`` as keyword arguments, and ``gym.make_vec``
    through its vector env). It is listed after the ids of a lower :attr:`Problem.order`. Returns ``spec``;
    ValueError if the id is already registered."""
    if not isinstance(spec, Problem):
        raise ValueError(f"spec must be an execgym.registry.Problem, got {type(spec).__name__}")
    if spec.env_id in PROBLEMS:
        raise ValueError(f"env id {spec.env_id!r} is already registered")
    entries = [*PROBLEMS.values(), spec]
    entries.sort(key=lambda entry: entry.order)      # stable: ties keep their registration order
    PROBLEMS.clear()
    PROBLEMS.update((entry.env_id, entry) for entry in entries)
    register(id=spec.env_id, entry_point=_entry_point(spec.env_class),
             vector_entry_point=_entry_point(spec.vector_env_class), kwargs=dict(spec.defaults))
    return spec


def _entry_point(env_class: type) -> str | type:
    """``module:Class`` for a class importable by name (Gymnasium's usual form), else the class itself."""
    if "<locals>" in env_class.__qualname__:
        return env_class
    return f"{env_class.__module__}:{env_class.__qualname__}"


def _suite_specs() -> list[Problem]:
    """The ``SPECS`` of every problem folder in :mod:`execgym.problems`, in the order of their folders' names."""
    specs = []
    for folder in pkgutil.iter_modules(execgym.problems.__path__, execgym.problems.__name__ + "."):
        if folder.ispkg:
            specs.extend(importlib.import_module(folder.name + ".spec").SPECS)
    return specs


def problem(env_id: str) -> Problem:
    """The problem registered as ``env_id`` (an optional ``execgym:`` prefix is accepted)."""
    key = env_id.split(":", 1)[1] if env_id.startswith("execgym:") else env_id
    if key not in PROBLEMS:
        raise ValueError(f"unknown env id {env_id!r}; execgym provides {sorted(PROBLEMS)}")
    return PROBLEMS[key]


def make_baseline(env_id: str, name: str, params=None, **kwargs) -> Policy:
    """The baseline ``name`` of ``env_id`` with these parameters; ValueError naming the env's baselines."""
    spec = problem(env_id)
    named = spec.baselines(spec.params(params, **kwargs))
    if name not in named:
        raise ValueError(f"unknown baseline {name!r} for {spec.env_id}: its baselines are {sorted(named)}")
    return named[name]


def make_oracle(env_id: str, params=None, **kwargs) -> Oracle:
    """The optimal policy of ``env_id`` with these parameters, and its exact value; the same (read-only) object for
    equal parameters, from :data:`execgym.policy.ORACLE_CACHE` (the last 1,024 built)."""
    spec = problem(env_id)
    return ORACLE_CACHE.build(spec.oracle_factory, spec.params(params, **kwargs))


for _spec in _suite_specs():
    add_problem(_spec)
