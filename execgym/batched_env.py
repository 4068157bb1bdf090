"""The scalar and vector envs of every problem: thin views of its dynamics, one episode or a batch of n.

Each problem writes its step once, for one episode, in plain Python on floats
(``register_jitable`` functions of its dynamics module). Its scalar env (an
:class:`EpisodeEnv`) calls that step as it is, with no numpy on a batch of one;
its vector env (a :class:`BatchedVectorEnv`) runs the dynamics module's
``step``, the same functions compiled by numba over the batch. Both give the
same bits, which the tests check for every env.

A problem describes itself once in a :class:`BatchedProblem` (its params
class, its dynamics module and how its actions, spaces and infos look). The
dynamics module provides::

    start(params, seeds, episodes) -> batch         fresh episodes of the streams ``seeds``
    observe(params, batch) -> (b, *obs) float32
    step(params, batch, controls) -> transition     with .batch, .reward (b,), .terminated (b,)

A batch is a frozen dataclass of arrays with one row per episode, among them
``seed`` and ``episode`` (its noise stream); the vector env autoresets a slot
by starting the next episode of its stream (:func:`next_episodes`).

Rendering (:mod:`execgym.rendering`): both envs take ``render_mode`` (None,
"rgb_array" or "ansi"; anything else raises ``ValueError``) and draw the
episode so far beside the oracle's plan, as the problem's
:class:`~execgym.rendering.Sketch` says. With a render mode set they keep the
running episode's history (a :class:`~execgym.rendering.Trace`); without, they
keep none, step at no extra cost, and ``render()`` warns and returns None. The
vector env's ``render()`` is a tuple with one frame (or text) per slot, each of
the slot's running episode (the same as the scalar env of its seed), as
``SyncVectorEnv.render`` returns: n slots cost n frames.

Seeding: the scalar env reset with seed s and slot i of the vector env reset
with seed s + i play the same episodes (:func:`execgym.noise.reset_streams`).
The vector env autoresets in Gymnasium's SAME_STEP mode with the infos of
``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)``
(:mod:`execgym.vector_info`); its ``final_obs`` is a float32 array (n, *obs)
whose rows of slots not done are not meaningful.

Both envs check at every reset and step that the observations and rewards are
finite, and raise ``RuntimeError`` naming the env, the slot and the values
otherwise (:func:`require_finite_step`): the params' ranges keep the arithmetic
finite, so this is a guard, not a path of normal use. The one documented
exception is refused first by its own step, with a ValueError that says why:
MarketMaking-v0's exponential utility of an episode that loses more than
float64 can express (:func:`execgym.problems.market_making.dynamics.check_utility`).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from execgym.batching import replace_rows
from execgym.noise import episode_keys, reset_streams
from execgym.rendering import (PicklesWithoutRenderer, Renderer, Sketch, SlotTraces, Trace, checked_render_mode,
                               metadata, warn_unset)
from execgym.validation import require_int
from execgym.vector_info import same_step_info, with_masks

Info = dict[str, np.ndarray]


@dataclass(frozen=True)
class BatchedProblem:
    """What the envs of one problem need to know about it."""

    params_class: type
    dynamics: ModuleType
    observation_space: Callable[[Any], gym.spaces.Space]
    """params -> the single-episode observation space."""
    action_space: Callable[[Any], gym.spaces.Space]
    """params -> the single-episode action space."""
    controls: Callable[[Any, Any, int], np.ndarray]
    """(params, actions, n) -> the dynamics' controls for n episodes; ValueError for a wrong shape or NaN."""
    reset_info: Callable[[Any], Info]
    """batch -> info arrays (b, ...) after a reset."""
    step_info: Callable[[Any], Info]
    """transition -> info arrays (b, ...) after a step."""
    sketch: Sketch
    """What its renders show (:mod:`execgym.rendering`)."""


def require_finite_step(env, call: str, observations: np.ndarray, rewards: np.ndarray | None) -> None:
    """Raise ``RuntimeError`` naming ``env``, the call, the first slot with a non-finite observation entry or
    reward and the env's parameters (whose extreme values take the arithmetic beyond float64), unless every
    entry of ``observations`` (slots, *obs) and ``rewards`` (slots,) is finite (one pass over each array)."""
    if np.isfinite(observations).all() and (rewards is None or np.isfinite(rewards).all()):
        return
    rows = observations.reshape(len(observations), -1)
    bad_obs = ~np.isfinite(rows).all(axis=1)
    bad = bad_obs if rewards is None else bad_obs | ~np.isfinite(rewards)
    slot = int(np.argmax(bad))
    what = []
    if bad_obs[slot]:
        what.append(f"observation entries {np.flatnonzero(~np.isfinite(rows[slot])).tolist()} of "
                    f"{rows[slot].tolist()}")
    if rewards is not None and not np.isfinite(rewards[slot]):
        what.append(f"reward {float(rewards[slot])!r}")
    where = f" in slot {slot}" if len(observations) > 1 else ""
    raise RuntimeError(f"{type(env).__name__}.{call} produced a non-finite {' and '.join(what)}{where}, beyond "
                       f"float64's range, with the parameters {env.params!r}")


def next_episodes(problem: BatchedProblem, params, batch, done: np.ndarray):
    """``batch`` with the slots ``done`` replaced by the next episode of their stream (autoreset)."""
    fresh = problem.dynamics.start(params, batch.seed[done], batch.episode[done] + np.uint64(1))
    return replace_rows(batch, fresh, done)


class EpisodeEnv(PicklesWithoutRenderer, gym.Env, abc.ABC):
    """Base of the single-episode envs that run a problem's per-episode step on plain Python floats (the
    step their vector env compiles over its batch): params, spaces, the noise stream of each reset and
    rendering.

    A subclass sets ``problem`` and implements ``_reset`` (calling :meth:`_start_episode` for the episode's
    noise key), ``_step`` and ``_finished``; :meth:`reset` and :meth:`step` call them, refuse a step outside
    an episode and check that the observation and reward are finite (:func:`require_finite_step`).
    """

    problem: ClassVar[BatchedProblem]
    metadata = metadata()

    def __init__(self, params=None, render_mode: str | None = None, **kwargs: Any) -> None:
        self.render_mode = checked_render_mode(render_mode)
        self.params = self.problem.params_class.from_kwargs(params, **kwargs)
        self.observation_space = self.problem.observation_space(self.params)
        self.action_space = self.problem.action_space(self.params)
        self._stream: tuple[np.ndarray, np.ndarray] | None = None
        self._trace: Trace | None = None
        self._renderer = None if render_mode is None else Renderer(self.problem.sketch, self.params, render_mode)

    def render(self) -> np.ndarray | str | None:
        """The episode so far: an (H, W, 3) uint8 picture (``"rgb_array"``) or a text (``"ansi"``);
        None, with a warning, without a render mode."""
        if self._renderer is None:
            return warn_unset()
        if self._trace is None:
            raise RuntimeError("call reset() before render()")
        return self._renderer.render(self._trace)

    def _start_episode(self, seed: int | None) -> np.uint64:
        """Seed ``np_random`` as ``gym.Env.reset`` does and return the noise key of the episode this reset
        plays (:func:`execgym.noise.reset_streams`: seed s is slot i of a vector env reset with s − i)."""
        super().reset(seed=seed)
        self._stream = reset_streams(seed, 1, self._stream, self.np_random)
        return episode_keys(*self._stream)[0]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = self._reset(seed)
        if not math.isfinite(sum(observation.tolist())):     # float32 entries: the sum cannot overflow float64
            require_finite_step(self, "reset", observation[None], None)
        if self._renderer is not None:
            self._trace = Trace.started(observation, info)
        return observation, info

    def step(self, action):
        self._check_running()
        result = self._step(action)
        observation, reward, _, _, info = result
        if not (math.isfinite(reward) and math.isfinite(sum(observation.tolist()))):
            require_finite_step(self, "step", observation[None], np.array([reward]))
        if self._renderer is not None:
            self._trace.record(action, observation, reward, info)
        return result

    @abc.abstractmethod
    def _reset(self, seed: int | None) -> tuple[np.ndarray, dict]:
        """Start an episode (the noise stream of ``seed``, see :meth:`_start_episode`): (observation, info)."""

    @abc.abstractmethod
    def _step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
        """One step of the episode under way: (observation, reward, terminated, truncated, info)."""

    @abc.abstractmethod
    def _finished(self) -> bool:
        """True once the current episode is over (each problem's env says from its own state)."""

    def _check_running(self) -> None:
        """Raise unless an episode is under way."""
        if self._stream is None:
            raise RuntimeError("call reset() before step()")
        if self._finished():
            raise RuntimeError("the episode has ended: call reset() before step()")


class BatchedVectorEnv(PicklesWithoutRenderer, VectorEnv):
    """``num_envs`` episodes of a problem stepped together by its batched dynamics, with no Python loop over
    them; SAME_STEP autoreset and rendering (one frame or text per slot) as the module docstring says."""

    problem: ClassVar[BatchedProblem]
    metadata = metadata(autoreset_mode=AutoresetMode.SAME_STEP)

    def __init__(self, num_envs: int = 1, params=None, render_mode: str | None = None, **kwargs: Any) -> None:
        self.num_envs = require_int("num_envs", num_envs, low=1)
        self.render_mode = checked_render_mode(render_mode)
        self.params = self.problem.params_class.from_kwargs(params, **kwargs)
        self.single_observation_space = self.problem.observation_space(self.params)
        self.single_action_space = self.problem.action_space(self.params)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._batch = None
        self._renderer = None if render_mode is None else Renderer(self.problem.sketch, self.params, render_mode)
        self._traces: SlotTraces | None = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        dynamics = self.problem.dynamics
        current = None if self._batch is None else (self._batch.seed, self._batch.episode)
        self._batch = dynamics.start(self.params, *reset_streams(seed, self.num_envs, current,
                                                                 np.random.default_rng()))
        observations, info = dynamics.observe(self.params, self._batch), self.problem.reset_info(self._batch)
        require_finite_step(self, "reset", observations, None)
        if self._renderer is not None:
            self._traces = SlotTraces(observations, info)
        return observations, with_masks(info)

    def step(self, actions):
        if self._batch is None:
            raise RuntimeError("call reset() before step()")
        dynamics = self.problem.dynamics
        transition = dynamics.step(self.params, self._batch, self.problem.controls(self.params, actions,
                                                                                   self.num_envs))
        done = transition.terminated
        self._batch = transition.batch
        final_obs = dynamics.observe(self.params, self._batch) if done.any() or self._renderer is not None else None
        if done.any():
            require_finite_step(self, "step (final observations)", final_obs, None)
            self._batch = next_episodes(self.problem, self.params, self._batch, done)
        step_info, reset_info = self.problem.step_info(transition), self.problem.reset_info(self._batch)
        observations = dynamics.observe(self.params, self._batch)
        require_finite_step(self, "step", observations, transition.reward)
        if self._renderer is not None:
            self._traces.record(actions, final_obs, transition.reward, step_info, done, observations, reset_info)
        return (observations, transition.reward, done, np.zeros(self.num_envs, dtype=bool),
                same_step_info(step_info, done, final_obs, reset_info))

    def render(self) -> tuple[np.ndarray, ...] | tuple[str, ...] | None:
        """One render per slot, each of its running episode (an (H, W, 3) uint8 picture or a text, as the
        scalar env's); None, with a warning, without a render mode."""
        if self._renderer is None:
            return warn_unset()
        if self._traces is None:
            raise RuntimeError("call reset() before render()")
        return tuple(self._renderer.render(self._traces.trace(slot)) for slot in range(self.num_envs))
