"""The scalar and vector envs of every problem: thin views of its dynamics, one episode or a batch of n.

Each problem writes its step once, for one episode, in plain Python on floats
(the jitable functions of its :class:`~execgym.engine.Dynamics`). Its scalar
env (an :class:`EpisodeEnv`) holds one state record and calls that step as it
is, with no numpy on a batch of one; its vector env (a
:class:`BatchedVectorEnv`) holds a state table and runs the same functions
compiled by numba over the batch (:mod:`execgym.engine`). Both give the same
bits, which the tests check for every env.

A problem describes itself once in a :class:`BatchedProblem` (its params
class, its dynamics and how its actions, spaces and infos look). The vector env
autoresets a slot by starting the next episode of its noise stream
(:func:`execgym.engine.next_episodes`).

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
exception is refused before the env takes the step, by its problem's
``check_step``, with a ValueError that says why:
MarketMaking-v0's exponential utility of an episode that loses more than
float64 can express (:func:`execgym.problems.market_making.dynamics.check_utility`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from execgym import engine
from execgym.distributions import MarketDistribution, MarketSet, draw_indices, market_set_of
from execgym.engine import Dynamics, Markets
from execgym.noise import as_seed_array, episode_key, episode_keys, reset_streams
from execgym.records import owned, sequence_fields
from execgym.rendering import (PicklesWithoutRenderer, Renderer, Sketch, SlotTraces, Trace, checked_render_mode,
                               metadata, warn_unset)
from execgym.validation import require_int
from execgym.vector_info import same_step_info, with_masks

Info = dict[str, np.ndarray]


@dataclass(frozen=True)
class BatchedProblem:
    """What the envs of one problem need to know about it."""

    params_class: type
    dynamics: Dynamics
    """The problem's market, state and step (the envs run it through :mod:`execgym.engine`)."""
    observation_space: Callable[[Any], gym.spaces.Space]
    """params -> the single-episode observation space."""
    action_space: Callable[[Any], gym.spaces.Space]
    """params -> the single-episode action space."""
    controls: Callable[[Any, Any, int], np.ndarray]
    """(params, actions, n) -> the dynamics' controls for n episodes, or for one action when n is None;
    ValueError for a wrong shape or NaN."""
    reset_info: Callable[[Any], Info]
    """state (a record, or a table of b rows) -> its info after a reset (arrays (b, ...) for a table)."""
    step_info: Callable[[Any, Any], Info]
    """(state, report) (records, or tables of b rows) -> the info after a step."""
    sketch: Sketch
    """What its renders show (:mod:`execgym.rendering`)."""
    check_step: Callable[[tuple, Any, Any], None] | None = None
    """None, or (markets, state, reward) -> None, called before the env takes a step
    whose reward is not finite: raises ValueError saying why the problem refuses that step. ``markets`` are
    the params of each slot (one for the scalar env), ``state`` and ``reward`` the step's new state and reward
    (a record and a float, or a table and an (n,) array). Without it such a step raises RuntimeError
    (:func:`require_finite_step`)."""
    check_controls: Callable[[Any, Any], None] | None = None
    """(state record or table, controls) -> None before a step:
    ValueError for controls that the state refuses (a masked action); None when every control that
    ``controls`` returns is allowed."""
    distribution: MarketDistribution | None = None
    """The family's distribution of markets (``markets="train"``, ``"test"``, ``"ood"``;
    :mod:`execgym.distributions`), or None."""


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


class EpisodeEnv(PicklesWithoutRenderer, gym.Env):
    """Base of the single-episode envs that run a problem's per-episode step on plain Python floats (the
    step their vector env compiles over its batch): params, spaces, the noise stream of each reset and
    rendering.

    A subclass sets ``problem``. :meth:`step` refuses a step outside an episode, and both :meth:`reset` and
    :meth:`step` check that the observation and reward are finite (:func:`require_finite_step`).
    """

    problem: ClassVar[BatchedProblem]
    metadata = metadata()

    def __init__(self, params=None, render_mode: str | None = None, markets=None, observe_market: bool = True,
                 **kwargs: Any) -> None:
        self.render_mode = checked_render_mode(render_mode)
        self._keywords = kwargs
        self.market_set, self.market_index = drawn_set(self, params, markets, kwargs), None
        self.params = (self.problem.params_class.from_kwargs(params, **kwargs) if self.market_set is None
                       else self.market_set.params(0))
        self._observe_market = observe_market = checked_observe_market(observe_market)
        self._observed_size = observed_size(self.market_set, observe_market)
        self.observation_space = observation_space_of(self.problem, self.params, self.market_set, observe_market)
        self.action_space = self.problem.action_space(self.params)
        self._stream: tuple[np.ndarray, np.ndarray] | None = None
        self._over = True     # no episode under way before the first reset
        self._trace: Trace | None = None
        self._renderer = None if render_mode is None else Renderer(self.problem.sketch, self.params, render_mode)
        self._set_market(self.params)

    def _set_market(self, params, features: np.ndarray | None = None) -> None:
        """Play the next episodes in the market ``params`` (same observation and action spaces), whose observed
        features (float32 (F,)) are ``features`` when the env observes them."""
        self.params = params
        dynamics = self.problem.dynamics
        self._variant, self._market = dynamics.variant(params), dynamics.scalar_market(params)
        size = dynamics.observation_size(params)
        self._rows = np.empty((1, size + self._observed_size), dtype=np.float32)    # write_observation's
        self._written = self._rows[0]                                          # row 0, a view
        if features is not None:
            self._written[size:] = features
        self._vectors = bool(sequence_fields(dynamics.State))
        if self._renderer is not None and self._renderer.params is not params:
            self._renderer = Renderer(self.problem.sketch, params, self.render_mode)

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
        seeds, episodes = self._stream = reset_streams(seed, 1, self._stream, self.np_random)
        if seed is not None:
            seeds = as_seed_array(seeds)     # ValueError for a seed beyond uint64
        return np.uint64(episode_key(np.uint64(seeds[0]), episodes[0]))     # compiled code returns an int

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode; ``options={"market": params}`` (a params object, or a dict of keyword parameters
        over the env's) plays it, and the next ones, in that market, which must have the env's observation and action
        spaces. An env that draws its markets (``markets=``) draws this episode's from its noise key, or plays
        market ``j`` of its set with ``options={"market_index": j}``."""
        if self.market_set is None:
            market, index = reset_option(options, "market"), None
            if market is not None:
                self._set_market(checked_market(self, market, "options['market']"))
        else:
            index = reset_option(options, "market_index")
            if index is not None:
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                    raise ValueError(f"options['market_index'] must be an integer (a market index of "
                                     f"{self.market_set!r}), got {index!r}")
                index = checked_indices(self.market_set, np.array([index]), "options['market_index']")[0]
        observation, info = self._reset(seed, index)
        if not math.isfinite(sum(observation.tolist())):     # float32 entries: the sum cannot overflow float64
            require_finite_step(self, "reset", observation[None], None)
        if self._renderer is not None:
            self._trace = Trace.started(observation, info)
        return observation, info

    def step(self, action):
        """One step of the episode under way (the problem's ``advance`` on its state record): (observation,
        reward, terminated, truncated, info)."""
        if self._over:
            raise RuntimeError("call reset() before step()" if self._stream is None
                               else "the episode has ended: call reset() before step()")
        problem, market, state = self.problem, self._market, self.state
        dynamics = problem.dynamics
        control = problem.controls(self.params, action, None)
        if problem.check_controls is not None:
            problem.check_controls(state, control)
        noise = self._noise[state.elapsed]
        if self._vectors:     # written over its own (engine docstring)
            state, reward, report = dynamics.advance(self._variant, market, state, control, noise, state)
        else:
            state, reward, report = dynamics.advance(self._variant, market, state, control, noise)
        if not math.isfinite(reward) and problem.check_step is not None:
            problem.check_step((self.params,), state, reward)
        self.state = state
        self._over = over = dynamics.finished(market, state)
        dynamics.write_observation(self._variant, market, state, self._rows, 0)
        observation, info = self._written.copy(), problem.step_info(state, report)
        if self.market_set is not None:
            info["market"] = self.market_index
        if not math.isfinite(reward + sum(observation.tolist())):     # inf or nan somewhere, or an overflow
            require_finite_step(self, "step", observation[None], np.array([reward]))
        if self._renderer is not None:
            self._trace.record(action, observation, reward, info)
        return observation, reward, over, False, info

    def _reset(self, seed: int | None, market_index: int | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode (the noise stream of ``seed``, see :meth:`_start_episode`; with a market set, in
        market ``market_index`` or the one drawn from the episode's key): (observation, info)."""
        problem, dynamics = self.problem, self.problem.dynamics
        key = self._start_episode(seed)
        if self.market_set is not None:
            drawn = self.market_set
            index = (int(draw_indices(np.array([key], dtype=np.uint64), drawn.size)[0]) if market_index is None
                     else int(market_index))
            self.market_index = index
            self._set_market(drawn.params(index), observed_values(drawn, np.array([index]), self._observe_market)[0]
                             if self._observed_size else None)
        self._noise = dynamics.episode_noise(self._variant, self._market, key)
        # vectors of its own, which advance updates
        self.state = owned(dynamics.initial_state(self._variant, self._market, key))
        self._over = False
        info = problem.reset_info(self.state)
        if self.market_set is not None:
            info["market"] = self.market_index
        return self._observation(), info

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._written = self._rows[0]     # a view of the buffer again: pickles and copies take views apart

    def _observation(self) -> np.ndarray:
        """The observation of the state (a new array)."""
        self.problem.dynamics.write_observation(self._variant, self._market, self.state, self._rows, 0)
        return self._written.copy()


class BatchedVectorEnv(PicklesWithoutRenderer, VectorEnv):
    """``num_envs`` episodes of a problem stepped together by its batched dynamics, with no Python loop over
    them; SAME_STEP autoreset and rendering (one frame or text per slot) as the module docstring says.

    Every slot plays in the market ``params`` (or the keyword parameters), or slot i in ``markets[i]``
    (params objects, or dicts of keyword parameters over the env's, one per slot, all with slot 0's
    observation and action spaces and model variant); ``reset(options={"markets": {slot: market, ...}})`` changes chosen slots'
    markets (a sequence of ``num_envs`` entries, None keeping a slot's, also works). ``params`` is slot 0's
    market, ``markets`` every slot's.

    With ``markets`` a split name ("train", "test", "ood") or a :class:`~execgym.distributions.MarketSet`, every
    episode of every slot draws its market from that set (the scalar env's draw at the same seed), and its
    observation ends with the market's features (``observe_market=False``: nothing; ``"index"``: the market's
    index in the set, for tabular agents); ``market_indices`` is
    every slot's market index in the set, ``reset(options={"market_indices": [...]})`` sets them for the
    episodes that reset starts.
    """

    problem: ClassVar[BatchedProblem]
    metadata = metadata(autoreset_mode=AutoresetMode.SAME_STEP)

    def __init__(self, num_envs: int = 1, params=None, render_mode: str | None = None, markets=None,
                 observe_market: bool = True, **kwargs: Any) -> None:
        self.num_envs = require_int("num_envs", num_envs, low=1)
        self.render_mode = checked_render_mode(render_mode)
        self._keywords = kwargs
        self.market_set = drawn_set(self, params, markets, kwargs) if is_drawn(markets) else None
        self.market_indices: np.ndarray | None = None
        self._observe_market = observe_market = checked_observe_market(observe_market)
        self._observed_size = observed_size(self.market_set, observe_market)
        self.params = (self.problem.params_class.from_kwargs(params, **kwargs) if self.market_set is None
                       else self.market_set.params(0))
        if markets is not None and self.market_set is None and observe_market is not True:
            raise ValueError("observe_market applies to markets drawn per episode (a split's name or a MarketSet, "
                             "e.g. execgym.market_set(env_id, [...])); a list gives each slot its own market, "
                             "observed as the problem observes it")
        if markets is not None and self.market_set is None:
            if params is not None:
                raise ValueError("pass either markets= or params=, not both")
            first = markets.get(0) if isinstance(markets, dict) else (
                markets[0] if isinstance(markets, (list, tuple)) and markets else None)
            if first is not None:                  # the env's spaces and variant are slot 0's market's
                self.params = market_params(self, first, "markets[0]")
        self.single_observation_space = observation_space_of(self.problem, self.params, self.market_set,
                                                             observe_market)
        self.single_action_space = self.problem.action_space(self.params)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._batch = None
        self._traces: SlotTraces | None = None
        self._renderers: dict[int, Renderer] = {}
        if self.market_set is not None:
            self._draw_markets(np.zeros(self.num_envs, dtype=np.int64))
            return
        self._set_markets((self.params,) * self.num_envs)
        if markets is not None:
            self._set_markets(self._slot_markets(markets, "markets"))
            self.params = self.markets[0]

    @property
    def markets(self) -> tuple:
        """Every slot's market (params objects, one per slot)."""
        return self._markets.params

    def _set_markets(self, markets: tuple) -> None:
        self._renderers.clear()
        self._markets = Markets.of(self.problem.dynamics, markets)

    def _draw_markets(self, indices: np.ndarray) -> None:
        """Slot i plays market ``indices[i]`` of the env's market set."""
        drawn = self.market_set
        self._renderers.clear()
        self.market_indices = indices
        self._markets = Markets(params=drawn.params_of(indices), variant=self.problem.dynamics.variant(self.params),
                                compiled=drawn.rows(indices),
                                features=observed_values(drawn, indices, self._observe_market)
                                if self._observed_size else None)

    def _slot_markets(self, markets, where: str) -> tuple:
        """The markets of every slot after setting ``markets`` (a sequence of num_envs entries, None keeping a
        slot's, or a dict {slot: market}); each checked by :func:`checked_market`."""
        if isinstance(markets, dict):
            chosen = markets
        elif isinstance(markets, (list, tuple)):
            if len(markets) != self.num_envs:
                raise ValueError(f"{where} must have one entry per slot ({self.num_envs}), got {len(markets)}")
            chosen = {slot: market for slot, market in enumerate(markets) if market is not None}
        else:
            raise ValueError(f"{where} must be a list of {self.num_envs} markets (params objects or dicts of "
                             f"keyword parameters) or a dict {{slot: market}}, got {type(markets).__name__}")
        slots = list(self.markets)
        for slot, market in chosen.items():
            if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < self.num_envs:
                raise ValueError(f"{where}: slot {slot!r} is not a slot index in [0, {self.num_envs - 1}]")
            slots[int(slot)] = checked_market(self, market, f"{where}[{slot}]")
        return tuple(slots)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        """Reset every slot (``options={"markets": ...}`` first changes chosen slots' markets, see the class
        docstring)."""
        current = None if self._batch is None else (self._batch.seed, self._batch.episode)
        if self.market_set is None:
            markets = reset_option(options, "markets")
            if markets is not None:
                self._set_markets(self._slot_markets(markets, "options['markets']"))
            streams = reset_streams(seed, self.num_envs, current, np.random.default_rng())
        else:
            indices = reset_option(options, "market_indices")
            streams = reset_streams(seed, self.num_envs, current, np.random.default_rng())
            if indices is None:
                indices = draw_indices(episode_keys(*streams), self.market_set.size)
            else:
                indices = checked_indices(self.market_set, indices, "options['market_indices']", self.num_envs)
            self._draw_markets(indices)
        self._batch = engine.start(self.problem.dynamics, self._markets, *streams)
        info = self._with_market(self.problem.reset_info(self._batch.state))
        observations = self._batch.observation
        if not self._batch.finite:
            require_finite_step(self, "reset", observations, None)
        if self.render_mode is not None:
            self._traces = SlotTraces(observations, info)
        return observations, with_masks(info)

    def step(self, actions):
        if self._batch is None:
            raise RuntimeError("call reset() before step()")
        problem = self.problem
        controls = problem.controls(self.params, actions, self.num_envs)
        if problem.check_controls is not None:
            problem.check_controls(self._batch.state, controls)
        transition = engine.step(problem.dynamics, self._markets, self._batch, controls)
        finite = transition.batch.finite     # rewards and observations; where a value is not, the checks find it
        if not finite and problem.check_step is not None and not np.isfinite(transition.reward).all():
            problem.check_step(self.markets, transition.batch.state, transition.reward)
        step_info = self._with_market(problem.step_info(transition.batch.state, transition.report))
        done = transition.terminated
        self._batch = transition.batch
        final_obs = self._batch.observation
        if done.any():
            if not finite:
                require_finite_step(self, "step (final observations)", final_obs, None)
            if self.market_set is not None:      # the next episodes' markets
                batch = self._batch
                drawn = draw_indices(episode_keys(batch.seed[done], batch.episode[done] + np.uint64(1)),
                                     self.market_set.size)
                indices = self.market_indices.copy()
                indices[done] = drawn
                self._draw_markets(indices)
            self._batch = engine.next_episodes(problem.dynamics, self._markets, self._batch, done)
        reset_info = self._with_market(problem.reset_info(self._batch.state))
        observations = self._batch.observation
        if not self._batch.finite:
            require_finite_step(self, "step", observations, transition.reward)
        if self.render_mode is not None:
            self._traces.record(actions, final_obs, transition.reward, step_info, done, observations, reset_info)
        return (observations, transition.reward, done, np.zeros(self.num_envs, dtype=bool),
                same_step_info(step_info, done, final_obs, reset_info))

    def _with_market(self, info: Info) -> Info:
        """``info`` with every slot's market index in the env's market set (when it draws from one)."""
        if self.market_set is not None:
            info["market"] = self.market_indices.copy()
        return info

    def render(self) -> tuple[np.ndarray, ...] | tuple[str, ...] | None:
        """One render per slot, each of its running episode (an (H, W, 3) uint8 picture or a text, as the
        scalar env's); None, with a warning, without a render mode."""
        if self.render_mode is None:
            return warn_unset()
        if self._traces is None:
            raise RuntimeError("call reset() before render()")
        return tuple(self._slot_renderer(slot).render(self._traces.trace(slot)) for slot in range(self.num_envs))

    def _slot_renderer(self, slot: int) -> Renderer:
        """The renderer of slot ``slot``'s market (one per distinct market, made when first drawn)."""
        market = self.markets[slot]
        key = next((i for i in self._renderers if self.markets[i] == market), slot)
        if key not in self._renderers:
            self._renderers[key] = Renderer(self.problem.sketch, market, self.render_mode)
        return self._renderers[key]


def reset_option(options: dict | None, name: str):
    """``options[name]`` (None when absent); ValueError for options that are not a dict or name other keys."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict, got {type(options).__name__}")
    unknown = sorted(set(options) - {name})
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; this env takes {name!r}")
    return options.get(name)


def is_drawn(markets) -> bool:
    """Whether ``markets=`` names a set to draw every episode's market from (a split's name or a
    :class:`~execgym.distributions.MarketSet`) rather than a market per slot."""
    return isinstance(markets, (str, MarketSet))


def drawn_set(env, params, markets, keywords: dict) -> MarketSet | None:
    """The set ``env`` draws its episodes' markets from (:func:`execgym.distributions.market_set_of`, with the
    env's keyword parameters over each market), or None without ``markets``; ValueError with ``params=``."""
    if markets is None:
        return None
    if params is not None:
        raise ValueError("pass either markets= or params=, not both")
    return market_set_of(env.problem, markets, keywords)


MARKET_INDEX = "index"
"""``observe_market=MARKET_INDEX``: the observation ends with the market's index in the set (tabular agents, whose
state is the market and the problem's state)."""


def checked_observe_market(observe_market) -> bool | str:
    """``observe_market`` as True, False or "index"; ValueError for anything else."""
    if isinstance(observe_market, (bool, np.bool_)):
        return bool(observe_market)
    if isinstance(observe_market, str) and observe_market == MARKET_INDEX:
        return MARKET_INDEX
    raise ValueError(f"observe_market must be True (the market's features), False (nothing) or {MARKET_INDEX!r} "
                     f"(its index in the set), got {observe_market!r}")


def observed_size(market_set: MarketSet | None, observe_market: bool | str) -> int:
    """How many entries about the market an env's observation ends with: ``market_set``'s features when
    ``observe_market`` is True, its index when it is "index", none when it is False or without a set."""
    if market_set is None or observe_market is False:
        return 0
    return 1 if observe_market == MARKET_INDEX else len(market_set.feature_specs)


def observed_values(market_set: MarketSet, indices: np.ndarray, observe_market) -> np.ndarray:
    """What the observations of markets ``indices`` end with (float32 (n, F)): their features, or their index."""
    if observe_market == MARKET_INDEX:
        return indices.astype(np.float32)[:, None]
    return market_set.features(indices)


def observation_space_of(problem: BatchedProblem, params, market_set: MarketSet | None,
                         observe_market) -> gym.spaces.Space:
    """``problem``'s observation space for ``params``, followed by the market's features (unbounded:
    out-of-distribution markets lie outside the training range's [−1, 1]) or its index in [0, size − 1]."""
    space, count = problem.observation_space(params), observed_size(market_set, observe_market)
    if not count:
        return space
    if observe_market == MARKET_INDEX:
        low, high = np.zeros(1, dtype=np.float32), np.full(1, market_set.size - 1, dtype=np.float32)
    else:
        high = np.full(count, np.inf, dtype=np.float32)
        low = -high
    return gym.spaces.Box(low=np.concatenate([space.low, low]), high=np.concatenate([space.high, high]),
                          dtype=np.float32)


def checked_indices(market_set: MarketSet, indices, where: str, count: int | None = None) -> np.ndarray:
    """``indices`` as an int64 array of market indices of ``market_set`` (``count`` of them when given);
    ValueError naming ``where`` otherwise."""
    array = np.asarray(indices)
    if array.dtype.kind not in "iu" or array.ndim != 1 or (count is not None and array.shape[0] != count):
        raise ValueError(f"{where} must be {'one integer' if count is None else f'{count} integers'} (market indices "
                         f"of {market_set!r}), got {indices!r}")
    if array.size and (array.min() < 0 or array.max() >= market_set.size):
        raise ValueError(f"{where}: market indices must be in [0, {market_set.size - 1}], got {indices!r}")
    return array.astype(np.int64)


def market_params(env, market, where: str):
    """``market`` (a params object of ``env``'s problem, or a dict of its keyword parameters over the ones ``env``
    was made with) as a params object (ValueError naming ``where`` for anything else or bad parameters)."""
    problem = env.problem
    if isinstance(market, dict):
        try:
            return problem.params_class.from_kwargs(**{**env._keywords, **market})
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    if not isinstance(market, problem.params_class):
        raise ValueError(f"{where} must be a {problem.params_class.__name__} or a dict of its keyword parameters, "
                         f"got {type(market).__name__}")
    return market


def checked_market(env, market, where: str):
    """:func:`market_params` of ``market``, checked to give ``env``'s observation and action spaces and model
    variant (ValueError naming ``where`` and what differs otherwise)."""
    problem = env.problem
    market = market_params(env, market, where)
    single = getattr(env, "single_observation_space", None) or env.observation_space
    if problem.observation_space(market) != single:
        raise ValueError(f"{where} has the observation space {problem.observation_space(market)}, not the env's "
                         f"{single}: the markets of one env must share it")
    action_space = getattr(env, "single_action_space", None) or env.action_space
    if problem.action_space(market) != action_space:
        raise ValueError(f"{where} has the action space {problem.action_space(market)}, not the env's "
                         f"{action_space}: the markets of one env must share it")
    dynamics = problem.dynamics
    if dynamics.variant(market) != dynamics.variant(env.params):
        raise ValueError(f"{where} has the model variant {dynamics.variant(market)}, not the env's "
                         f"{dynamics.variant(env.params)}: the markets of one env must share their variant")
    return market
