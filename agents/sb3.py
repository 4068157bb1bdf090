"""PPO (stable-baselines3), TRPO and MaskablePPO (sb3-contrib) built from a config's hyperparameters.

The bridge between SB3 and the suite, the ``VecEnv`` over a native vector env
(:class:`execgym.sb3.NativeVecEnv`) and a trained model as a policy
(:class:`execgym.sb3.SB3Policy`), is the public module :mod:`execgym.sb3`; this
module builds, loads and checks the algorithms the experiments train.

Masked actions: an env whose vector env has ``action_masks()`` (num_envs, n)
(BasketSequence-v0: a trade already done is masked and raises) trains with
``maskable_ppo`` only; PPO and TRPO sample every action and are refused there,
and ``maskable_ppo`` is refused on an env without masks. A MaskablePPO model
scores through :func:`execgym.sb3.as_policy`, its masks from the observations
(:attr:`execgym.registry.Problem.action_masks`).
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any

import torch
from sb3_contrib import TRPO, MaskablePPO
from sb3_contrib.common.maskable.utils import is_masking_supported
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "trpo": TRPO, "maskable_ppo": MaskablePPO}
MASKABLE = frozenset({"maskable_ppo"})
"""Algorithms that act with action masks (from ``env.action_masks()`` in training, given at scoring)."""
SCHEDULABLE = {"learning_rate", "clip_range"}
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU}


def model_kwargs(algo: str, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of ``algo`` from a config's hyperparameters, checked against its signature.

    The names must be public constructor parameters of the algorithm other than
    those the runner sets (:data:`RUNNER_SET`); a value must fit the parameter's
    annotation where that is a plain type (a number for ``float``, an integer
    for ``int``, ``true``/``false`` for ``bool``, a mapping for ``dict``...).
    ``policy`` defaults to "MlpPolicy"; ``policy_kwargs.activation_fn`` may name
    an activation ("tanh", "relu", "elu", "leaky_relu"); a schedulable value
    (``learning_rate``, ``clip_range``) may be ``{"linear": [start, end]}``: it
    moves linearly from start to end over the whole training.
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; stable-baselines agents are {sorted(ALGORITHMS)}")
    parameters = hyperparameter_annotations(algo)
    unknown = sorted(set(hyperparameters) - set(parameters), key=str)
    if unknown:
        raise ValueError(f"unknown {algo} hyperparameter(s) {unknown}; valid: {sorted(parameters)}")
    kwargs = {"policy": "MlpPolicy", **hyperparameters}
    for name in SCHEDULABLE & set(kwargs):
        kwargs[name] = _schedule(name, kwargs[name])
    for name, value in kwargs.items():
        if not _fits(value, parameters[name]):
            raise ValueError(f"{algo} hyperparameter {name}: expected {_describe(parameters[name])}, got {value!r}")
    policy_kwargs = dict(kwargs.get("policy_kwargs") or {})
    if isinstance(policy_kwargs.get("activation_fn"), str):
        name = policy_kwargs["activation_fn"]
        if name not in ACTIVATIONS:
            raise ValueError(f"policy_kwargs.activation_fn must be one of {sorted(ACTIVATIONS)}, got {name!r}")
        policy_kwargs["activation_fn"] = ACTIVATIONS[name]
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


RUNNER_SET = frozenset({"env", "seed", "verbose", "device", "tensorboard_log"})
"""Constructor parameters of the algorithms that :func:`build_model` sets itself (the runner writes the
TensorBoard logs)."""


def hyperparameter_annotations(algo: str) -> dict[str, Any]:
    """The public constructor parameters of ``algo`` a config may set, with their annotations (no ``self``,
    no private ``_name``, none of :data:`RUNNER_SET`)."""
    parameters = inspect.signature(ALGORITHMS[algo].__init__).parameters
    return {name: parameter.annotation for name, parameter in parameters.items()
            if name != "self" and not name.startswith("_") and name not in RUNNER_SET}


def _options(annotation) -> tuple:
    """The members of a union annotation (``float | None``), or the annotation alone."""
    return typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)


def _fits(value: Any, annotation) -> bool:
    """Whether ``value`` fits ``annotation``; True where the annotation is no class to check against."""
    for option in _options(annotation):
        if option is None or option is type(None):
            fits = value is None
        else:
            origin = typing.get_origin(option) or option
            if not isinstance(origin, type):
                return True
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if origin is float:
                fits = number
            elif origin is int:
                fits = number and isinstance(value, int)
            else:
                fits = isinstance(value, origin)
        if fits:
            return True
    return False


_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a mapping",
          type(None): "null", collections.abc.Callable: "a schedule ({linear: [start, end]})", type: "a class"}


def _describe(annotation) -> str:
    """``annotation`` in words: "a number or null"."""
    names = []
    for option in _options(annotation):
        origin = typing.get_origin(option) or (type(None) if option is None else option)
        names.append(_NAMES.get(origin, getattr(origin, "__name__", str(origin))))
    return " or ".join(names)


def _schedule(name: str, value):
    """A constant, or ``{"linear": [start, end]}`` as SB3's LinearSchedule over the whole training."""
    if not isinstance(value, dict):
        return value
    pair = value.get("linear")
    if set(value) != {"linear"} or not isinstance(pair, list) or len(pair) != 2 \
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be a number or {{linear: [start, end]}}, got {value!r}")
    return LinearSchedule(start=float(pair[0]), end=float(pair[1]), end_fraction=1.0)


def check_masking(algo: str, masked: bool, env_name: str) -> None:
    """Raise ``ValueError`` unless ``algo`` fits an env whose actions are ``masked`` (or not)."""
    if algo in MASKABLE and not masked:
        raise ValueError(f"{algo} needs an env whose actions are masked (env.action_masks()); {env_name} has no "
                         "masks (every action is allowed): use ppo or trpo")
    if algo not in MASKABLE and masked:
        raise ValueError(f"{env_name} masks actions (env.action_masks(): e.g. a trade already done) and raises "
                         f"ValueError on a masked one; {algo} samples every action and would pick masked ones: "
                         f"use {' or '.join(sorted(MASKABLE))}")


def build_model(algo: str, env: VecEnv, hyperparameters: dict[str, Any], seed: int) -> BaseAlgorithm:
    """A fresh PPO, TRPO or MaskablePPO model on ``env`` (CPU), seeded; refused where the env's action masks
    (or their absence) do not fit the algorithm (:func:`check_masking`)."""
    kwargs = model_kwargs(algo, hyperparameters)
    check_masking(algo, is_masking_supported(env), _env_name(env))
    return ALGORITHMS[algo](env=env, seed=seed, device="cpu", verbose=0, **kwargs)


def _env_name(env: VecEnv) -> str:
    while hasattr(env, "venv"):
        env = env.venv
    return f"the env ({type(getattr(env, 'env', env)).__name__})"


def load_model(algo: str, path, env: VecEnv | None = None) -> BaseAlgorithm:
    """A model saved by ``model.save(path)``, on the CPU."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; stable-baselines agents are {sorted(ALGORITHMS)}")
    if env is not None:
        check_masking(algo, is_masking_supported(env), _env_name(env))
    return ALGORITHMS[algo].load(path, env=env, device="cpu")
