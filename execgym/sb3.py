"""Stable-Baselines3 on the suite: train on the natively batched envs, score any trained model.

Needs the ``agents`` extra (``pip install -c constraints.txt -e ".[agents]"``); ``import execgym`` does not
import this module.

    import gymnasium as gym
    from stable_baselines3 import PPO

    import execgym
    import execgym.sb3

    venv = execgym.sb3.wrap(gym.make_vec("OptimalExec-v0", num_envs=8))
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, seed=0).learn(20_000)
    print(execgym.score(model, "OptimalExec-v0", episodes=10_000).summary())

stable-baselines3 has no adapter for a Gymnasium ``VectorEnv``: :func:`wrap`
(:class:`NativeVecEnv`) is one, for vector envs in SAME_STEP autoreset mode (every
env of the suite made by ``gym.make_vec``): one call steps all episodes at once, and
SB3's semantics hold (an episode that ends is reset in the same step, its last
observation under ``info["terminal_observation"]``).

:func:`as_policy` turns a trained model (PPO, TRPO, MaskablePPO, any SB3 algorithm or
policy with ``predict``) into a policy of the suite's protocol acting deterministically;
:func:`execgym.score` calls it on a model itself. A maskable model (whose ``predict``
takes ``action_masks``, e.g. sb3-contrib's MaskablePPO) gets the masks of each
observation from the problem (:attr:`execgym.registry.Problem.action_masks`), so it
never picks an action the env refuses.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from functools import partial
from types import MappingProxyType
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

try:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(f"execgym.sb3 needs stable-baselines3 ({error.name} is not installed): "
                              "pip install -c constraints.txt -e '.[agents]' (from a clone) or "
                              "pip install 'execgym[agents]'", name=error.name) from error

from execgym.registry import problem

BATCHED_METHODS = frozenset({"action_masks"})
"""Methods :meth:`NativeVecEnv.env_method` answers with one call of the native vector env."""
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
        _check_same_step(env)
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
        value = (getattr(self.env, attr_name, None) if attr_name == "render_mode"
                 else getattr(self._holder(attr_name), attr_name))
        return [value] * len(self._get_indices(indices))

    def _holder(self, name: str):
        """Where attribute ``name`` lives: the native env for :data:`BATCHED_METHODS` (the action masks are the
        problem's, whatever reward wrappers, e.g. :mod:`execgym.wrappers`, sit on top), else the env given."""
        return self.env.unwrapped if name in BATCHED_METHODS else self.env

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs):
        if method_name in BATCHED_METHODS:
            values = getattr(self._holder(method_name), method_name)(*method_args, **method_kwargs)
            return values if indices is None else values[self._get_indices(indices)]
        raise ValueError(f"cannot call {method_name!r} per env: a natively batched env steps all its episodes "
                         "in one object and has no per-env instances")

    def env_is_wrapped(self, wrapper_class, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._get_indices(indices))


def _check_same_step(env: VectorEnv) -> None:
    """Raise ``ValueError`` unless ``env`` autoresets in SAME_STEP mode, saying how to make one that does."""
    mode = env.metadata.get("autoreset_mode")
    if mode != AutoresetMode.SAME_STEP:
        raise ValueError(
            f"SB3 needs the vector env to reset an ended episode in the same step (autoreset_mode SAME_STEP), got "
            f"{mode!r}; execgym's native vector envs do: gym.make_vec(env_id, num_envs=n). Another vector env: "
            "gym.make_vec(env_id, num_envs=n, vectorization_mode='sync', "
            "vector_kwargs={'autoreset_mode': gym.vector.AutoresetMode.SAME_STEP})")


def wrap(vec_env: VectorEnv) -> NativeVecEnv:
    """``vec_env`` (a Gymnasium ``VectorEnv`` in SAME_STEP autoreset mode, e.g. ``gym.make_vec("OptimalExec-v0",
    num_envs=8)``) as an SB3 ``VecEnv``, to train any SB3 algorithm on it:

        venv = execgym.sb3.wrap(gym.make_vec("OptimalExec-v0", num_envs=8))
        model = PPO("MlpPolicy", venv).learn(100_000)

    ``ValueError`` for a vector env in another autoreset mode (the message says how to make one in SAME_STEP);
    ``TypeError`` for anything that is not a ``VectorEnv`` (a single env goes to SB3 as it is).
    """
    if isinstance(vec_env, gym.Env):
        raise TypeError(f"wrap takes a Gymnasium vector env (gym.make_vec), got the single env {vec_env!r}: "
                        "give a single env to SB3 as it is (it wraps it in a DummyVecEnv)")
    if not isinstance(vec_env, VectorEnv):
        raise TypeError(f"wrap takes a Gymnasium vector env (gym.make_vec), got {type(vec_env).__name__}")
    return NativeVecEnv(vec_env)


def is_maskable(model) -> bool:
    """Whether ``model`` acts with action masks: its ``predict`` takes ``action_masks`` (sb3-contrib's
    MaskablePPO and its policies)."""
    return "action_masks" in inspect.signature(model.predict).parameters


class SB3Policy:
    """A trained SB3 model as a policy of the suite: observations (n, ...) -> deterministic actions (n, ...).

    A maskable model (:func:`is_maskable`, e.g. MaskablePPO) needs ``action_masks``: observations (n, ...) ->
    allowed actions (n, k) bool, e.g. ``functools.partial(problem(env_id).action_masks, params)``; it then never
    picks a masked action. Other models take none. :func:`as_policy` builds one from an env id.
    """

    def __init__(self, model, action_masks: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        maskable = is_maskable(model)
        if maskable and action_masks is None:
            raise ValueError(f"a {type(model).__name__} model acts with action masks: pass action_masks= "
                             "(observations -> allowed actions), e.g. functools.partial(problem(env_id)."
                             "action_masks, params), or use execgym.sb3.as_policy(model, env_id); unmasked it may "
                             "pick an action the env refuses")
        if not maskable and action_masks is not None:
            raise ValueError(f"{type(model).__name__} does not act with action masks; action_masks= is for "
                             "maskable models (MaskablePPO)")
        self.model, self.action_masks = model, action_masks

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        if self.action_masks is None:
            actions, _ = self.model.predict(observations, deterministic=True)
        else:
            actions, _ = self.model.predict(observations, deterministic=True,
                                            action_masks=self.action_masks(observations))
        return actions


def as_policy(model, env_id: str | None = None, params=None, **kwargs) -> SB3Policy:
    """``model`` (any trained SB3 algorithm or policy) as a policy of the suite, acting deterministically.

    A maskable model (MaskablePPO) takes its masks from the observations through the problem of ``env_id``
    with these parameters (``params=`` or keyword arguments, as :func:`execgym.make_oracle`):

        policy = execgym.sb3.as_policy(model, "BasketSequence-v0")
        actions = policy(observations)

    Other models need no env id. The masks are read from the problem's own observation (its first entries), so
    the policy also acts in an env that appends the market's features (``markets=``). ``ValueError`` for a
    maskable model without ``env_id``, or for an env whose actions are never masked.
    """
    if not is_maskable(model):
        return SB3Policy(model)
    if env_id is None:
        raise ValueError(f"a {type(model).__name__} model acts with action masks, which come from the problem: "
                         "pass the env id, as_policy(model, env_id[, params])")
    spec = problem(env_id)
    if spec.action_masks is None:
        raise ValueError(f"{spec.env_id} masks no action; a {type(model).__name__} model needs an env whose actions "
                         "are masked (env.action_masks()): train PPO or TRPO there")
    params = spec.params(params, **kwargs)
    size = spec.vector_env_class.problem.dynamics.observation_size(params)
    return SB3Policy(model, action_masks=partial(_masks_of_own_observation, spec.action_masks, params, size))


def _masks_of_own_observation(action_masks, params, size: int, observations: np.ndarray) -> np.ndarray:
    """``action_masks(params, ·)`` of the problem's own observation: the first ``size`` entries of each."""
    return action_masks(params, np.asarray(observations)[:, :size])
