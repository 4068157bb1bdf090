"""Any :class:`~execgym.solvers.dp.FiniteMDP` as a Gymnasium environment, natively batched.

| | |
|---|---|
| Observation | Discrete((T+1)·S): index t·S + s of stage t and state s; t = T is the terminal stage |
| Action | Discrete(A); an action the MDP masks at (t, s) raises ``ValueError`` |
| Reward | r_t(s, a), the MDP's expected reward, plus σ·ξ if ``reward_noise`` σ > 0 (ξ ~ N(0, 1)) |
| Termination | after T steps (``terminated=True``; no truncation) |
| Oracle | :func:`~execgym.solvers.dp.backward_induction`, O(T·S·A·K) time, O(T·S·A) memory |

Hence E[Σ reward] from state s is the MDP's return-to-go
``policy_values(mdp, policy)[0, s]`` for any deterministic Markov policy, and
the optimum is ``backward_induction(mdp).values[0]`` averaged over the start
distribution. ``info["action_mask"]`` is the (A,) boolean mask of the actions
allowed at the returned observation (all False at the terminal stage).

Randomness is counter-based (:mod:`execgym.noise`), a pure function of
(seed, episode, step), with two streams per step:

* the start state: u = uniforms(key, 0, stream 0) picks state s with
  probability ``initial_states[s]`` (inverse of the cumulative distribution);
* the move from stage t: u = uniforms(key, t + 1, stream 0) picks the
  successor k, the first with u·Σp < p_0 + … + p_k, among the K successors
  of (t, s, a); successors of probability 0 are never picked;
* the reward noise of stage t: ξ = standard_normals(key, t + 1, stream 1).

So slot i of a :class:`TabularVectorEnv` reset with seed s plays the episodes
of a :class:`TabularEnv` reset with seed s + i, and two policies on the same
seed draw the same uniforms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from execgym.batching import replace_rows
from execgym.noise import episode_keys, reset_streams, standard_normals, uniforms
from execgym.solvers.dp import PROBABILITY_TOLERANCE, FiniteMDP
from execgym.validation import INTEGER_KINDS, action_array, require_int, require_real, set_field

STREAMS = 2
MOVE_STREAM = 0
REWARD_STREAM = 1


@dataclass(frozen=True)
class Batch:
    """State of a batch of episodes; every field has shape (n,)."""

    seed: np.ndarray     # uint64: the seed the episode stream was started from
    episode: np.ndarray  # uint64: episode number within that stream (0, 1, ...)
    key: np.ndarray      # uint64: noise key of the current episode
    stage: np.ndarray    # int64: steps done, 0..T
    state: np.ndarray    # int64: current state, 0..S-1

    def __len__(self) -> int:
        return self.stage.shape[0]


def _pick(weights: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Row-wise inverse-CDF sampling: for weights (n, K) and uniforms (n,), the first k with
    u·Σw < w_0 + … + w_k."""
    cumulative = np.cumsum(weights, axis=1)
    index = (cumulative <= draws[:, None] * cumulative[:, -1:]).sum(axis=1)
    return np.minimum(index, weights.shape[1] - 1)


@dataclass(frozen=True)
class TabularDynamics:
    """The batched dynamics of ``mdp`` started from ``initial_states`` (probabilities over the S
    states, default: state 0 for sure), with Gaussian reward noise of std ``reward_noise`` (>= 0)."""

    mdp: FiniteMDP
    initial_states: np.ndarray | None = None
    reward_noise: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.mdp, FiniteMDP):
            raise ValueError(f"mdp must be a FiniteMDP, got {type(self.mdp).__name__}")
        set_field(self, "initial_states", self._checked_initial_states())
        set_field(self, "reward_noise", require_real("reward_noise", self.reward_noise, low=0.0))

    def _checked_initial_states(self) -> np.ndarray:
        states = self.mdp.states
        if self.initial_states is None:
            return np.eye(states)[0]
        initial = np.asarray(self.initial_states, dtype=np.float64)
        if initial.shape != (states,):
            raise ValueError(f"initial_states must have shape (S,) = ({states},), got {initial.shape}")
        if not np.isfinite(initial).all() or (initial < 0).any():
            raise ValueError("initial_states must be finite probabilities >= 0")
        if abs(initial.sum() - 1.0) > PROBABILITY_TOLERANCE:
            raise ValueError(f"initial_states must sum to 1 (within {PROBABILITY_TOLERANCE:g}), "
                             f"got {float(initial.sum())!r}")
        return initial

    @property
    def num_observations(self) -> int:
        """(T+1)·S: size of the observation space."""
        return (self.mdp.stages + 1) * self.mdp.states

    def start(self, seeds: np.ndarray, episodes: np.ndarray) -> Batch:
        """Fresh episodes number ``episodes`` of the streams ``seeds``."""
        seeds = np.asarray(seeds, dtype=np.uint64)
        episodes = np.asarray(episodes, dtype=np.uint64)
        keys = episode_keys(seeds, episodes)
        n = seeds.shape[0]
        draws = uniforms(keys, np.zeros(n, dtype=np.uint64), MOVE_STREAM, STREAMS)
        states = _pick(np.broadcast_to(self.initial_states, (n, self.mdp.states)), draws)
        return Batch(seed=seeds, episode=episodes, key=keys, stage=np.zeros(n, dtype=np.int64), state=states)

    def restart(self, batch: Batch, done: np.ndarray) -> Batch:
        """The batch with the episodes where ``done`` replaced by the next episode of their stream."""
        return replace_rows(batch, self.start(batch.seed[done], batch.episode[done] + np.uint64(1)), done)

    def observe(self, batch: Batch) -> np.ndarray:
        """Observations (n,) int64: t·S + s."""
        return batch.stage * self.mdp.states + batch.state

    def action_masks(self, batch: Batch) -> np.ndarray:
        """(n, A) bool: the actions allowed in each episode's current (stage, state); none at the end."""
        live = batch.stage < self.mdp.stages
        masks = np.zeros((len(batch), self.mdp.actions), dtype=bool)
        masks[live] = self.mdp.action_mask[batch.stage[live], batch.state[live]]
        return masks

    def step(self, batch: Batch, actions: np.ndarray) -> tuple[Batch, np.ndarray]:
        """Advance every episode of ``batch`` (none finished) by one stage: (new batch, rewards (n,))."""
        mdp = self.mdp
        actions = self._checked_actions(batch, actions)
        t, s = batch.stage, batch.state
        steps = (t + 1).astype(np.uint64)
        draws = uniforms(batch.key, steps, MOVE_STREAM, STREAMS)
        successor = _pick(mdp.probabilities[t, s, actions], draws)
        rewards = mdp.rewards[t, s, actions]
        if self.reward_noise > 0.0:
            rewards = rewards + self.reward_noise * standard_normals(batch.key, steps, REWARD_STREAM, STREAMS)
        new = replace(batch, stage=t + 1, state=mdp.next_states[t, s, actions, successor])
        return new, rewards

    def _checked_actions(self, batch: Batch, actions) -> np.ndarray:
        n, A = len(batch), self.mdp.actions
        actions = action_array(actions, f"Discrete({A})", INTEGER_KINDS)
        if actions.size != n or actions.ndim > 1:
            raise ValueError(f"action must be {'an integer' if n == 1 else f'{n} integers (shape ({n},))'}, "
                             f"got {actions!r}")
        actions = actions.reshape(n).astype(np.int64)
        if (actions < 0).any() or (actions >= A).any():
            raise ValueError(f"action must lie in 0..{A - 1} (A - 1), got {actions.min()}..{actions.max()}")
        allowed = self.mdp.action_mask[batch.stage, batch.state, actions]
        if not allowed.all():
            i = int(np.flatnonzero(~allowed)[0])
            t, s = batch.stage[i], batch.state[i]
            where = f" in slot {i}" if n > 1 else ""
            raise ValueError(f"action {actions[i]} is masked{where} at stage {t}, state {s}; "
                             f"allowed: {np.flatnonzero(self.mdp.action_mask[t, s]).tolist()}")
        return actions


class TabularEnv(gym.Env):
    """One episode of ``mdp`` at a time: the batch-of-one view of :class:`TabularDynamics`
    (see the module docstring for spaces, rewards and randomness)."""

    metadata = {"render_modes": []}

    def __init__(self, mdp: FiniteMDP, initial_states: np.ndarray | None = None,
                 reward_noise: float = 0.0) -> None:
        self.dynamics = TabularDynamics(mdp, initial_states, reward_noise)
        self.observation_space = gym.spaces.Discrete(self.dynamics.num_observations)
        self.action_space = gym.spaces.Discrete(mdp.actions)
        self._batch: Batch | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        current = None if self._batch is None else (self._batch.seed, self._batch.episode)
        self._batch = self.dynamics.start(*reset_streams(seed, 1, current, self.np_random))
        return self._observation_and_info()

    def step(self, action):
        if self._batch is None:
            raise RuntimeError("call reset() before step()")
        if self._batch.stage[0] >= self.dynamics.mdp.stages:
            raise RuntimeError("the episode has ended: call reset() before step()")
        self._batch, rewards = self.dynamics.step(self._batch, action)
        obs, info = self._observation_and_info()
        terminated = bool(self._batch.stage[0] == self.dynamics.mdp.stages)
        return obs, float(rewards[0]), terminated, False, info

    def _observation_and_info(self) -> tuple[int, dict[str, np.ndarray]]:
        obs = int(self.dynamics.observe(self._batch)[0])
        return obs, {"action_mask": self.dynamics.action_masks(self._batch)[0]}


class TabularVectorEnv(VectorEnv):
    """``num_envs`` episodes of ``mdp`` stepped together, with no Python loop over them.

    Autoreset is Gymnasium's SAME_STEP mode, as in
    :class:`~execgym.problems.optimal_exec.env.OptimalExecVectorEnv`: an episode
    that ends is replaced in the same call by the next episode of its slot; its
    last observation and info are under ``info["final_obs"]`` (an int64 array
    (n,), rows of slots not done not meaningful) and ``info["final_info"]``,
    with masks ``info["_final_obs"]`` and ``info["_final_info"]``. Slot i reset
    with seed s plays the episodes of a :class:`TabularEnv` reset with seed s + i.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, mdp: FiniteMDP, num_envs: int = 1, initial_states: np.ndarray | None = None,
                 reward_noise: float = 0.0) -> None:
        self.num_envs = require_int("num_envs", num_envs, low=1)
        self.dynamics = TabularDynamics(mdp, initial_states, reward_noise)
        self.single_observation_space = gym.spaces.Discrete(self.dynamics.num_observations)
        self.single_action_space = gym.spaces.Discrete(mdp.actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._batch: Batch | None = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        current = None if self._batch is None else (self._batch.seed, self._batch.episode)
        self._batch = self.dynamics.start(*reset_streams(seed, self.num_envs, current, np.random.default_rng()))
        return self.dynamics.observe(self._batch), self._mask_info(np.ones(self.num_envs, dtype=bool))

    def step(self, actions):
        if self._batch is None:
            raise RuntimeError("call reset() before step()")
        self._batch, rewards = self.dynamics.step(self._batch, actions)
        done = self._batch.stage == self.dynamics.mdp.stages
        info = {}
        if done.any():
            info["final_obs"], info["_final_obs"] = self.dynamics.observe(self._batch), done.copy()
            info["final_info"], info["_final_info"] = self._mask_info(done), done.copy()
            self._batch = self.dynamics.restart(self._batch, done)
        info.update(self._mask_info(np.ones(self.num_envs, dtype=bool)))
        obs = self.dynamics.observe(self._batch)
        return obs, rewards, done, np.zeros(self.num_envs, dtype=bool), info

    def _mask_info(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        """``action_mask`` of the slots in ``slots`` (others all False) with its Gymnasium mask."""
        masks = self.dynamics.action_masks(self._batch) & slots[:, None]
        return {"action_mask": masks, "_action_mask": slots.copy()}
