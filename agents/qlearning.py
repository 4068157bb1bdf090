"""Tabular Q-learning in numpy, for any Gymnasium vector env with Discrete observations and actions.

The agent maximises E[Σ_t γ^t r_t] (γ = 1 by default: the plain sum of
rewards, which is what every execgym oracle optimises). It keeps a table
``q`` (S, A) of action values and a table ``visits`` (S, A) of how many
transitions have updated each entry.

Update (one batch of transitions, all targets from the table *before* the batch)::

    y_i      = r_i + γ · (1 − terminated_i) · max_a Q[s'_i, a]
    ȳ(s, a)  = mean of the y_i with (s_i, a_i) = (s, a)        c = their count
    α(s, a)  = (c / (n + c))^ω                                  n = visits[s, a] before the batch
    Q[s, a] ← (1 − α) · Q[s, a] + α · ȳ(s, a)
    visits[s, a] ← n + c

With ω = 1 the entry is the exact running average of every target it has
seen, whatever the batching: (n·Q + c·ȳ) / (n + c). With ω in (0.5, 1) the
step is the polynomial rate α = 1/k^ω of one sample at a time (k = n + 1)
generalised to c samples; Σα = ∞ and Σα² < ∞, so Q-learning converges. The
first visit gives α = 1, so the initial value ``initial_q`` is forgotten
as soon as an entry is updated (it still matters while unvisited, through
the bootstrap and the greedy choice).

Exploration is ε-greedy, ε decaying linearly (see :meth:`QLearningConfig.epsilon`).
Training runs in rounds (see :func:`train`) so that a run resumed from a
checkpoint is bit for bit the uninterrupted run.

Action masks: an agent built with ``action_mask`` (S, A) bool (True = allowed,
a property of the state alone, e.g. the trades not yet done) explores
uniformly over the allowed actions, acts greedily among them, and bootstraps
from max over the allowed actions of s' (0 for a state that allows none: a
terminal one). Masked entries are never updated and never chosen. Without a
mask every action is allowed, and the agent draws the same random numbers as
it always did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Callable, NamedTuple

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from execgym.noise import TRAINING_SEEDS_FROM, TRAINING_SEEDS_PER_RUN
from execgym.validation import require_int, require_real, set_field



@dataclass(frozen=True)
class QLearningConfig:
    """Hyper-parameters of :class:`QLearning` and :func:`train`, validated on construction."""

    gamma: float = 1.0
    """Discount factor γ in (0, 1]; 1 maximises the plain sum of rewards."""
    epsilon_start: float = 1.0
    """Exploration probability at step 0, in [0, 1]."""
    epsilon_end: float = 0.05
    """Exploration probability after the decay, in [0, 1] and ≤ ``epsilon_start``."""
    epsilon_decay_fraction: float = 0.5
    """Fraction of ``total_steps`` over which ε decays linearly, in [0, 1]."""
    step_size_exponent: float = 1.0
    """ω in (0.5, 1] of the step size α = (c / (n + c))^ω; 1 is the running average."""
    initial_q: float = 0.0
    """Value of every table entry before its first visit (finite)."""
    num_envs: int = 256
    """Episodes run side by side in one round (slots of the vector env), ≥ 1."""

    def __post_init__(self) -> None:
        set_field(self, "gamma", require_real("gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        set_field(self, "epsilon_start", require_real("epsilon_start", self.epsilon_start, low=0.0, high=1.0))
        set_field(self, "epsilon_end", require_real("epsilon_end", self.epsilon_end, low=0.0, high=1.0))
        if self.epsilon_end > self.epsilon_start:
            raise ValueError(f"epsilon_end must be <= epsilon_start = {self.epsilon_start:g} (ε decays), "
                             f"got {self.epsilon_end!r}")
        set_field(self, "epsilon_decay_fraction",
                  require_real("epsilon_decay_fraction", self.epsilon_decay_fraction, low=0.0, high=1.0))
        set_field(self, "step_size_exponent",
                  require_real("step_size_exponent", self.step_size_exponent, low=0.5, high=1.0, low_open=True))
        set_field(self, "initial_q", require_real("initial_q", self.initial_q))
        set_field(self, "num_envs", require_int("num_envs", self.num_envs, low=1))

    def epsilon(self, step: int, total_steps: int) -> float:
        """ε at agent-step ``step`` of a run of ``total_steps``.

        ε(t) = ε_start + (ε_end − ε_start) · min(1, t / (f · T)), with f the
        decay fraction and T = ``total_steps``; ε(t) = ε_end when f · T = 0.
        """
        decay_steps = self.epsilon_decay_fraction * total_steps
        if step >= decay_steps:
            return self.epsilon_end
        return self.epsilon_start + (self.epsilon_end - self.epsilon_start) * (step / decay_steps)


def table_shape(observation_space: spaces.Space, action_space: spaces.Space) -> tuple[int, int]:
    """(S, A) for ``Discrete(S)`` observations and ``Discrete(A)`` actions (both starting at 0)."""
    for name, space in (("observation", observation_space), ("action", action_space)):
        if not isinstance(space, spaces.Discrete) or space.start != 0:
            raise ValueError(f"tabular Q-learning needs a Discrete(n) {name} space starting at 0, "
                             f"got {space!r}; discretise the env first (execgym.tabular)")
    return int(observation_space.n), int(action_space.n)


def _indices(name: str, values, high: int) -> np.ndarray:
    """``values`` as a 1-D int64 array, checked within [0, high)."""
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D integer array, got shape {values.shape} of {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= high):
        raise ValueError(f"{name} must be in [0, {high}), got values in [{values.min()}, {values.max()}]")
    return values.astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class GreedyPolicy:
    """The greedy policy of a Q-table, frozen when made: state s -> ``actions[s]``.

    Meets the suite's policy protocol: an int array of states (n,) in, an int
    array of actions (n,) out.
    """

    actions: np.ndarray

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        return self.actions[_indices("observations", observations, self.actions.shape[0])]


def _checked_mask(action_mask, shape: tuple[int, int]) -> np.ndarray | None:
    """``action_mask`` as a read-only (S, A) bool array, or None."""
    if action_mask is None:
        return None
    mask = np.array(action_mask)
    if mask.dtype != np.bool_ or mask.shape != shape:
        raise ValueError(f"action_mask must be a boolean array of the table's shape {shape}, "
                         f"got {mask.dtype} of shape {mask.shape}")
    mask.flags.writeable = False
    return mask


class QLearning:
    """A Q-table ``q`` (S, A) float64 with its visit counts ``visits`` (S, A) int64, and optionally the
    actions each state allows, ``action_mask`` (S, A) bool (see the module docstring)."""

    def __init__(self, num_states: int, num_actions: int, config: QLearningConfig | None = None,
                 action_mask: np.ndarray | None = None) -> None:
        self.config = QLearningConfig() if config is None else config
        shape = (require_int("num_states", num_states, low=1), require_int("num_actions", num_actions, low=1))
        self.q = np.full(shape, self.config.initial_q, dtype=np.float64)
        self.visits = np.zeros(shape, dtype=np.int64)
        self.action_mask = _checked_mask(action_mask, shape)

    @classmethod
    def for_spaces(cls, observation_space: spaces.Space, action_space: spaces.Space,
                   config: QLearningConfig | None = None, action_mask: np.ndarray | None = None) -> "QLearning":
        """An agent sized for single (not batched) Discrete spaces, e.g. ``env.single_observation_space``."""
        return cls(*table_shape(observation_space, action_space), config, action_mask)

    def _allowed_q(self, states: np.ndarray) -> np.ndarray:
        """Q[states] (n, A), −inf at masked actions."""
        if self.action_mask is None:
            return self.q[states]
        return np.where(self.action_mask[states], self.q[states], -np.inf)

    @property
    def steps_done(self) -> int:
        """Transitions learned from so far: Σ visits."""
        return int(self.visits.sum())

    def act(self, states, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        """ε-greedy actions (n,) for states (n,): uniform (over the allowed actions) with probability ε,
        else argmax_a Q[s, a] among them (the lowest action index on ties).

        Draws n uniforms then n random actions from ``rng`` whatever ε, so the
        stream of random numbers does not depend on the table. With a mask the
        random action is the ⌊u·c⌋-th of the c allowed ones, u uniform; a state
        that allows none raises.
        """
        states = _indices("states", states, self.q.shape[0])
        epsilon = require_real("epsilon", epsilon, low=0.0, high=1.0)
        explore = rng.random(states.shape[0]) < epsilon
        if self.action_mask is None:
            random_actions = rng.integers(self.q.shape[1], size=states.shape[0])
        else:
            allowed = self.action_mask[states]
            counts = allowed.sum(axis=1)
            if (counts == 0).any():
                raise ValueError(f"state {states[np.argmin(counts)]} allows no action (a terminal state): "
                                 "nothing to act on")
            picks = np.minimum((rng.random(states.shape[0]) * counts).astype(np.int64), counts - 1)
            random_actions = (allowed.cumsum(axis=1) > picks[:, None]).argmax(axis=1)
        return np.where(explore, random_actions, self._allowed_q(states).argmax(axis=1))

    def targets(self, rewards: np.ndarray, next_states: np.ndarray, terminated: np.ndarray) -> np.ndarray:
        """y = r + γ · (1 − terminated) · max_a Q[s', a] (over the actions s' allows; 0 if none)."""
        best = self._allowed_q(next_states).max(axis=1)
        if self.action_mask is not None:
            best = np.where(np.isneginf(best), 0.0, best)
        bootstrap = np.where(terminated, 0.0, best)
        return rewards + self.config.gamma * bootstrap

    def update(self, states, actions, rewards, next_states, terminated) -> None:
        """Learn from a batch of transitions (arrays of one length n); see the module docstring.

        Duplicated (s, a) pairs are aggregated by ``np.bincount`` on the flat
        index s · A + a: one step of size α = (c / (n + c))^ω toward the mean
        of their c targets.
        """
        num_states, num_actions = self.q.shape
        states = _indices("states", states, num_states)
        actions = _indices("actions", actions, num_actions)
        next_states = _indices("next_states", next_states, num_states)
        rewards = np.asarray(rewards, dtype=np.float64)
        terminated = np.asarray(terminated, dtype=bool)
        if not (actions.shape == rewards.shape == next_states.shape == terminated.shape == states.shape):
            raise ValueError("states, actions, rewards, next_states and terminated must have one shape, got "
                             f"{[np.shape(x) for x in (states, actions, rewards, next_states, terminated)]}")
        if not np.isfinite(rewards).all():
            raise ValueError("rewards must be finite")
        if self.action_mask is not None and not self.action_mask[states, actions].all():
            i = int(np.flatnonzero(~self.action_mask[states, actions])[0])
            raise ValueError(f"action {actions[i]} is masked in state {states[i]}")
        flat = states * num_actions + actions
        counts = np.bincount(flat, minlength=self.q.size)
        sums = np.bincount(flat, weights=self.targets(rewards, next_states, terminated), minlength=self.q.size)
        hit = np.flatnonzero(counts)
        self._move(hit, counts[hit], sums[hit])

    def _move(self, flat: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> None:
        """Q ← (1 − α) Q + α ȳ with α = (c / (n + c))^ω and ȳ = Σy / c at the flat indices; visits += c.

        For ω = 1 computed as (n · Q + Σy) / (n + c), which rounds once: the
        running mean of targets such as 1, 2, 3, 6 comes out exact (1, 1.5, 2, 3).
        """
        q, visits = self.q.reshape(-1), self.visits.reshape(-1)
        seen = visits[flat]
        if self.config.step_size_exponent == 1.0:
            q[flat] = (seen * q[flat] + sums) / (seen + counts)
        else:
            alpha = (counts / (seen + counts)) ** self.config.step_size_exponent
            q[flat] = (1.0 - alpha) * q[flat] + alpha * (sums / counts)
        visits[flat] += counts

    def greedy_policy(self) -> GreedyPolicy:
        """The greedy policy of the current table among the allowed actions, lowest action index on ties
        (0 in states that allow none; a read-only snapshot: later updates do not change it)."""
        actions = self._allowed_q(np.arange(self.q.shape[0])).argmax(axis=1)
        actions.flags.writeable = False
        return GreedyPolicy(actions)

    def state_dict(self) -> dict:
        """Copies of ``q`` and ``visits`` (and ``action_mask`` if set) and the config's fields as plain numbers.

        Flat, so ``np.savez(path, **agent.state_dict())`` writes a checkpoint and
        ``QLearning.from_state_dict(np.load(path))`` reads it back.
        """
        state = {"q": self.q.copy(), "visits": self.visits.copy(), **asdict(self.config)}
        if self.action_mask is not None:
            state["action_mask"] = self.action_mask.copy()
        return state

    @classmethod
    def from_state_dict(cls, state) -> "QLearning":
        """The agent saved by :meth:`state_dict` (0-d arrays are accepted for the numbers)."""
        config = QLearningConfig(**{f.name: np.asarray(state[f.name]).item() for f in fields(QLearningConfig)})
        q = np.array(state["q"], dtype=np.float64)
        visits = np.array(state["visits"], dtype=np.int64)
        if q.ndim != 2 or visits.shape != q.shape:
            raise ValueError(f"q and visits must be 2-D of one shape, got {q.shape} and {visits.shape}")
        if (visits < 0).any():
            raise ValueError("visits must be non-negative")
        agent = cls(*q.shape, config, state["action_mask"] if "action_mask" in state else None)
        agent.q, agent.visits = q, visits
        return agent


class RoundResult(NamedTuple):
    """What one round did: transitions learned from, and the mean return of its episodes."""

    steps: int
    mean_return: float


Callback = Callable[[QLearning, int, int, RoundResult], "bool | None"]


def round_seed(seed: int, round_: int, num_envs: int) -> int:
    """Reset seed of round ``round_``: 2⁴⁰ + seed · 2³² + round · num_envs (slot i plays that + i), in the
    range reserved for training (:data:`execgym.noise.TRAINING_SEEDS_FROM`)."""
    return TRAINING_SEEDS_FROM + seed * TRAINING_SEEDS_PER_RUN + round_ * num_envs


def _check_env(env: VectorEnv, agent: QLearning) -> None:
    """Raise unless ``env`` matches the agent's table and config and autoresets in SAME_STEP mode."""
    shape = table_shape(env.single_observation_space, env.single_action_space)
    if shape != agent.q.shape:
        raise ValueError(f"env has (states, actions) = {shape} but the agent's table is {agent.q.shape}")
    if env.num_envs != agent.config.num_envs:
        raise ValueError(f"make_env({agent.config.num_envs}) returned an env with num_envs = {env.num_envs}")
    if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
        raise ValueError("the vector env must autoreset in SAME_STEP mode (metadata['autoreset_mode']), "
                         f"got {env.metadata.get('autoreset_mode')!r}")


def _next_states(next_obs: np.ndarray, done: np.ndarray, info: dict) -> np.ndarray:
    """s' of each slot: the observation, or ``info["final_obs"]`` where the episode ended."""
    if not done.any():
        return next_obs
    next_states = np.array(next_obs, dtype=np.int64)
    next_states[done] = np.asarray(info["final_obs"])[done].astype(np.int64)
    return next_states


def run_round(agent: QLearning, env: VectorEnv, seed: int, round_: int, epsilon: float) -> RoundResult:
    """One episode in every slot of ``env``, learning from each transition; returns their number and
    the episodes' mean return.

    The env is reset with :func:`round_seed` and actions explore with
    ``np.random.default_rng([seed, round_])``, so a round is a function of
    (table, seed, round, ε) alone. A slot stops learning after its first
    episode ends; what its autoreset brings afterwards is ignored.
    """
    rng = np.random.default_rng([seed, round_])
    states, _ = env.reset(seed=round_seed(seed, round_, env.num_envs))
    active = np.ones(env.num_envs, dtype=bool)
    returns = np.zeros(env.num_envs)
    steps = 0
    while active.any():
        actions = agent.act(states, epsilon, rng)
        next_obs, rewards, terminated, truncated, info = env.step(actions)
        done = np.asarray(terminated) | np.asarray(truncated)
        next_states = _next_states(next_obs, done, info)
        agent.update(states[active], actions[active], np.asarray(rewards)[active],
                     next_states[active], np.asarray(terminated)[active])
        steps += int(active.sum())
        returns += np.where(active, rewards, 0.0)
        active &= ~done
        states = next_obs
    return RoundResult(steps, float(returns.mean()))


def train(agent: QLearning, make_env: Callable[[int], VectorEnv], total_steps: int, seed: int,
          start_round: int = 0, callback: Callback | None = None) -> int:
    """Train ``agent`` in rounds until ``total_steps`` agent-steps; returns the steps done.

    ``make_env(num_envs)`` builds a vector env with Discrete spaces and SAME_STEP
    autoreset (created once, reset at each round with seeds from (seed, round)).
    Round k (k = start_round, start_round + 1, ...) runs :func:`run_round` with
    ε = ``config.epsilon(steps at its start, total_steps)``; steps count the
    transitions learned from, and start at the agent's ``steps_done`` (Σ
    visits), so a restored agent carries its progress. Rounds are never cut:
    the last one may pass ``total_steps``. After each round,
    ``callback(agent, round, steps_done, round_result)`` runs (checkpoints, evaluation);
    returning False stops training.

    Resuming: an agent restored from the ``state_dict`` saved in the callback
    of round r, trained with the same ``make_env``, ``total_steps``, ``seed``
    and ``start_round = r + 1``, reproduces the uninterrupted run bit for bit.
    """
    total_steps = require_int("total_steps", total_steps, low=1)
    seed = require_int("seed", seed, low=0)
    round_ = require_int("start_round", start_round, low=0)
    env = make_env(agent.config.num_envs)
    steps = agent.steps_done
    try:
        _check_env(env, agent)
        while steps < total_steps:
            result = run_round(agent, env, seed, round_, agent.config.epsilon(steps, total_steps))
            steps += result.steps
            if callback is not None and callback(agent, round_, steps, result) is False:
                break
            round_ += 1
    finally:
        env.close()
    return steps
