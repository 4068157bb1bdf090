"""What every tabular view shares: the protocol, the policy adapters and the discrete scalar and vector envs.

A tabular view presents one execgym env as a finite problem: Discrete(S)
states computed from the env's observations, Discrete(A) actions mapped to the
env's own actions, the finite MDP of the expected rewards and the exact
optimum of that MDP acting in the real env. The envs below are thin views of
the real ones (their rewards, terminations, infos and noise are untouched),
so a tabular agent trained on them is scored in the real env like any other.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

from execgym.policy import Oracle, Policy
from execgym import registry
from execgym.solvers.dp import FiniteMDP
from execgym.validation import INTEGER_KINDS, action_array, require_int, set_field

DiscretePolicy = Callable[[np.ndarray], np.ndarray]
"""Integer array of grid states (n,) in, integer array of grid actions (n,) out."""


@runtime_checkable
class TabularView(Protocol):
    """An env seen as a finite problem (see the module docstring)."""

    env_id: ClassVar[str]
    """The execgym id of the real env."""
    params: Any
    """The real env's params object."""

    @property
    def num_states(self) -> int:
        """S: size of the Discrete observation space."""

    @property
    def num_actions(self) -> int:
        """A: size of the Discrete action space."""

    def observation_space(self) -> gym.spaces.Discrete:
        """Discrete(S)."""

    def action_space(self) -> gym.spaces.Discrete:
        """Discrete(A)."""

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (n,) int64 of a batch of the real env's observations."""

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The real env's actions (n, ...) for grid actions (n,) taken in grid states (n,)."""

    def action_mask(self) -> np.ndarray | None:
        """(S, A) bool, the actions allowed in each state (a state with none is terminal), or None: all allowed."""

    def mdp(self) -> FiniteMDP:
        """The discretised problem with the env's exact expected rewards."""

    def oracle(self) -> Oracle:
        """The exact optimum of the discretised problem, acting in the real env, with its exact value."""

    def env_policy(self, discrete_policy: DiscretePolicy) -> Policy:
        """``discrete_policy`` (grid states -> grid actions) as a policy of the real env."""

    def vector_env(self, num_envs: int) -> VectorEnv:
        """The real env's native vector env of ``num_envs`` slots seen through this view."""


def lot_counts(lots, max_trade_lots, max_lots: int) -> tuple[int, int]:
    """(L, M) of a lot grid, checked: ``lots`` L in 1..``max_lots``, ``max_trade_lots`` M in 1..L (None: L)."""
    lots = require_int("lots", lots, low=1, high=max_lots)
    limit = lots if max_trade_lots is None else max_trade_lots
    return lots, require_int("max_trade_lots", limit, low=1, high=lots)


def checked_actions(actions, count: int, meaning: str, bound: str) -> np.ndarray:
    """Grid ``actions`` as int64, checked: integers (``meaning``, for the message) in 0..count−1 (``bound``
    names count − 1 in the message)."""
    actions = action_array(actions, f"Discrete({count}) ({meaning})", INTEGER_KINDS)
    if actions.size and ((actions < 0).any() or (actions >= count).any()):
        raise ValueError(f"actions must lie in 0..{count - 1} ({bound}), got {actions.min()}..{actions.max()}")
    return actions.astype(np.int64)


class ViewMixin:
    """The parts of a view written once from its ``num_states``, ``num_actions``, ``state_index``
    and ``env_actions``: spaces, the policy adapter and the discrete vector env."""

    env_id: ClassVar[str]

    def observation_space(self) -> gym.spaces.Discrete:
        """Discrete(S): grid states."""
        return gym.spaces.Discrete(self.num_states)

    def action_space(self) -> gym.spaces.Discrete:
        """Discrete(A): grid actions."""
        return gym.spaces.Discrete(self.num_actions)

    def action_mask(self) -> np.ndarray | None:
        """None: every action is allowed in every state."""
        return None

    def env_policy(self, discrete_policy: DiscretePolicy) -> "GridPolicy":
        """``discrete_policy`` (grid states -> grid actions) as a policy of the real env."""
        return GridPolicy(self, discrete_policy)

    def vector_env(self, num_envs: int) -> "DiscreteVectorEnv":
        """:class:`DiscreteVectorEnv` over the real env's native vector env with ``num_envs`` slots."""
        vector_env_class = registry.problem(self.env_id).vector_env_class
        return DiscreteVectorEnv(vector_env_class(num_envs=num_envs, params=self.params), self)


class LotGridMixin(ViewMixin):
    """The parts of an execution lot grid written once: an order of X = ``params.shares`` in L = ``lots`` lots,
    trades of 0..M = ``max_trade_lots`` lots, and ``states_per_stage`` grid states in each of the N + 1 stages."""

    def _set_lot_counts(self, max_lots: int) -> None:
        """Check ``lots`` (1..``max_lots``) and ``max_trade_lots`` (1..L, None: L) and store them."""
        lots, max_trade_lots = lot_counts(self.lots, self.max_trade_lots, max_lots)
        set_field(self, "lots", lots)
        set_field(self, "max_trade_lots", max_trade_lots)

    @property
    def lot_size(self) -> float:
        """X/L: shares per lot."""
        return self.params.shares / self.lots

    @property
    def num_states(self) -> int:
        """(N + 1)·(states per stage): size of the discrete observation space."""
        return (self.params.periods + 1) * self.states_per_stage

    @property
    def num_actions(self) -> int:
        """M + 1: trades of 0..M lots."""
        return self.max_trade_lots + 1


class TablePolicy:
    """A discrete policy given as one action per grid state: ``table[state]``."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = np.asarray(table)

    def __call__(self, states: np.ndarray) -> np.ndarray:
        return self.table[states]


class GridPolicy:
    """A policy of the real env from a discrete one: observations (n, ...) -> grid states ->
    grid actions -> the env's actions (float32 where the env's actions are continuous)."""

    def __init__(self, grid: TabularView, discrete_policy: DiscretePolicy) -> None:
        self.grid = grid
        self.discrete_policy = discrete_policy

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        states = self.grid.state_index(observations)
        actions = self.grid.env_actions(states, np.asarray(self.discrete_policy(states)))
        return actions.astype(np.float32) if actions.dtype.kind == "f" else actions


def check_wraps(env, expected: type, view: TabularView | None = None) -> None:
    """Raise unless ``env`` wraps an ``expected`` (and, with a view, one with the view's params)."""
    if not isinstance(env.unwrapped, expected):
        raise ValueError(f"env must wrap an {expected.__name__}, got {type(env.unwrapped).__name__}")
    if view is not None and env.unwrapped.params != view.params:
        raise ValueError(f"the env's params differ from the view's ({type(view).__name__}): build the view "
                         "from the env's params")


class DiscreteEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A real env (possibly wrapped) seen through ``view``: grid-state observations (int), grid actions (int);
    reward, termination and info are the env's own."""

    def __init__(self, env: gym.Env, view: TabularView) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, view=view)
        gym.Wrapper.__init__(self, env)
        check_wraps(env, registry.problem(view.env_id).env_class, view)
        self.grid = view
        self.observation_space = view.observation_space()
        self.action_space = view.action_space()
        self._state: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._state = self.grid.state_index(obs[None])
        return int(self._state[0]), info

    def step(self, action):
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action)
        if action.size != 1 or action.ndim > 1:
            raise ValueError(f"action must be one integer, got {action!r}")
        obs, reward, terminated, truncated, info = self.env.step(
            self.grid.env_actions(self._state, action.reshape(1))[0])
        self._state = self.grid.state_index(obs[None])
        return int(self._state[0]), reward, terminated, truncated, info


class DiscreteVectorEnv(VectorWrapper):
    """A native vector env (possibly wrapped) seen through ``view``: grid states (n,) and grid actions (n,).

    Rewards, terminations and infos are the env's own, except ``info["final_obs"]``,
    translated to grid states (n,) int64. No Python loop over slots.
    """

    def __init__(self, env: VectorEnv, view: TabularView) -> None:
        check_wraps(env, registry.problem(view.env_id).vector_env_class, view)
        super().__init__(env)
        self.grid = view
        self.single_observation_space = view.observation_space()
        self.single_action_space = view.action_space()
        self.observation_space = batch_space(self.single_observation_space, env.num_envs)
        self.action_space = batch_space(self.single_action_space, env.num_envs)
        self._states: np.ndarray | None = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._states = self.grid.state_index(obs)
        return self._states.copy(), info

    def step(self, actions):
        if self._states is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        obs, rewards, terminated, truncated, info = self.env.step(self.grid.env_actions(self._states, actions))
        if "final_obs" in info:
            info = {**info, "final_obs": self.grid.state_index(info["final_obs"])}
        self._states = self.grid.state_index(obs)
        return self._states.copy(), rewards, terminated, truncated, info
