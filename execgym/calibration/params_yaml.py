"""Calibrated params as plain data: what ``params.yaml`` holds."""

from __future__ import annotations

from dataclasses import fields


def params_mapping(params) -> dict:
    """The fields of a params dataclass that differ from its defaults, tuples as lists (YAML's plain data): the
    keywords that rebuild it (``gym.make(env_id, **mapping)``)."""
    defaults = type(params)()
    mapping = {}
    for field in fields(params):
        value = getattr(params, field.name)
        if value != getattr(defaults, field.name):
            mapping[field.name] = list(value) if isinstance(value, tuple) else value
    return mapping
