"""PPO (stable-baselines3), TRPO and MaskablePPO (sb3-contrib) on the suite's natively batched envs.

stable-baselines3 has no adapter for a Gymnasium ``VectorEnv``; :class:`NativeVecEnv`
is one, for vector envs in SAME_STEP autoreset mode (every env of the suite):
one call steps all episodes at once, and SB3's semantics hold (an episode that
ends is reset in the same step, its last observation under
``info["terminal_observation"]``). :class:`SB3Policy` turns a trained model into
a policy of the suite's protocol, acting deterministically for scoring.

Masked actions: an env whose vector env has ``action_masks()`` (num_envs, n)
(BasketSequence-v0: a trade already done is masked and raises) trains with
``maskable_ppo`` only; PPO and TRPO sample every action and are refused there,
and ``maskable_ppo`` is refused on an env without masks. A MaskablePPO model
scores through :class:`SB3Policy` with a function observations -> masks
(:attr:`execgym.registry.Problem.action_masks`).
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
import warnings
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, Callable

import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from sb3_contrib import TRPO, MaskablePPO
from sb3_contrib.common.maskable.utils import is_masking_supported
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "trpo": TRPO, "maskable_ppo": MaskablePPO}
MASKABLE = frozenset({"maskable_ppo"})
"""Algorithms that act with action masks (from ``env.action_masks()`` in training, given at scoring)."""
BATCHED_METHODS = frozenset({"action_masks"})
"""Methods :meth:`NativeVecEnv.env_method` answers with one call of the native vector env."""
SCHEDULABLE = {"learning_rate", "clip_range"}
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU}
_NO_INFO = MappingProxyType({})


class NativeVecEnv(VecEnv):
    """SB3 ``VecEnv`` view of a Gymnasium vector env with SAME_STEP autoreset, with no loop over envs.

    ``infos`` is a list with one mapping per env, as SB3 requires: envs whose
    episode did not end share one empty read-only mapping; an env whose episode
    ended gets a dict with ``terminal_observation``, ``TimeLimit.truncated`` and
    its final ``info`` entries.

    ``env_method("action_masks")`` (what sb3-contrib's MaskablePPO calls) is one
    call of the native ``action_masks()``: the (num_envs, n) array, one row per
    env (rows ``indices`` if given), in place of SB3's list of per-env results
    (``np.stack`` of either is the same array). Other methods have no per-env
    instances to call and raise.

    ``get_images()`` is the native ``render()`` (one frame per env, render_mode
    "rgb_array"), so SB3's ``render()`` tiles them and ``VecVideoRecorder``
    records them.
    """

    def __init__(self, env: VectorEnv) -> None:
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError(f"NativeVecEnv needs a vector env with SAME_STEP autoreset, got "
                             f"{env.metadata.get('autoreset_mode')!r}")
        self.env = env
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self):
        seeds = None if all(seed is None for seed in self._seeds) else [int(seed) for seed in self._seeds]
        obs, _ = self.env.reset(seed=seeds)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.env.step(self._actions)
        dones = terminated | truncated
        infos: list[Any] = [_NO_INFO] * self.num_envs
        for i in np.flatnonzero(dones):
            final = {key: value[i] for key, value in info.get("final_info", {}).items() if not key.startswith("_")}
            infos[i] = {**final, "terminal_observation": info["final_obs"][i],
                        "TimeLimit.truncated": bool(truncated[i] and not terminated[i])}
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(f"the render mode is {self.render_mode!r}; get_images() needs 'rgb_array'")
            return [None] * self.num_envs
        return list(self.env.render())

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.env, attr_name, None) if attr_name == "render_mode" else getattr(self.env, attr_name)
        return [value] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs):
        if method_name in BATCHED_METHODS:
            values = getattr(self.env, method_name)(*method_args, **method_kwargs)
            return values if indices is None else values[self._get_indices(indices)]
        raise ValueError(f"cannot call {method_name!r} per env: a natively batched env steps all its episodes "
                         "in one object and has no per-env instances")

    def env_is_wrapped(self, wrapper_class, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._get_indices(indices))


class SB3Policy:
    """A trained SB3 model as a policy of the suite: observations (n, ...) -> deterministic actions (n, ...).

    A maskable model (MaskablePPO) needs ``action_masks``: observations (n, ...) -> allowed actions (n, k)
    bool, e.g. ``functools.partial(problem(env_id).action_masks, params)``; it then never picks a masked
    action. Other models take none.
    """

    def __init__(self, model: BaseAlgorithm,
                 action_masks: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        maskable = isinstance(model, MaskablePPO)
        if maskable and action_masks is None:
            raise ValueError("a MaskablePPO model acts with action masks: pass action_masks= (observations -> "
                             "allowed actions), e.g. functools.partial(problem(env_id).action_masks, params); "
                             "unmasked it may pick an action the env refuses")
        if not maskable and action_masks is not None:
            raise ValueError(f"{type(model).__name__} does not act with action masks; action_masks= is for "
                             "MaskablePPO models")
        self.model, self.action_masks = model, action_masks

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        if self.action_masks is None:
            actions, _ = self.model.predict(observations, deterministic=True)
        else:
            actions, _ = self.model.predict(observations, deterministic=True,
                                            action_masks=self.action_masks(observations))
        return actions


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
