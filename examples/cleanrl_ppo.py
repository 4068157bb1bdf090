"""PPO in one file, CleanRL style, on any execgym env; scored against the env's exact optimum at the end.

    python examples/cleanrl_ppo.py --env-id OptimalExec-v0 --total-timesteps 200000 --num-envs 8 --seed 1

The envs are what a CleanRL script builds: ``gym.make("execgym:<id>")`` wrapped in
FlattenObservation, RecordEpisodeStatistics, ClipAction (Box actions only),
NormalizeObservation and NormalizeReward, stepped by Gymnasium's SyncVectorEnv in
SAME_STEP autoreset mode. The policy is a Gaussian for Box actions and a categorical
head per dimension for Discrete and MultiDiscrete ones; where the env masks actions
(BasketSequence-v0: ``info["action_mask"]``, a trade already done) the categorical
head never picks a masked one. Every ``--log-every`` iterations it prints the mean
return of the episodes finished (RecordEpisodeStatistics' ``episode["r"]``).

At the end :func:`execgym.score` runs the trained actor deterministically on the
env's native vector env: :class:`ScoredActor` applies the same observation
pipeline as the wrappers, with the NormalizeObservation statistics frozen at the
end of training, clips Box actions as ClipAction does and takes the masks of a
masked env from the observations. It prints the score's summary: return, the
oracle's exact value and the regret with 95 % intervals.

Needs torch (``pip install -c constraints.txt -e ".[agents]"``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

import execgym
from execgym.registry import problem


@dataclass
class Args:
    env_id: str = "OptimalExec-v0"
    total_timesteps: int = 200_000
    num_envs: int = 8
    seed: int = 1
    num_steps: int = 128
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 10
    clip_coef: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    score_episodes: int = 10_000
    log_every: int = 10


def parse_args(argv: list[str] | None = None) -> Args:
    """The command line's options over :class:`Args`' defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in vars(Args()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    return Args(**vars(parser.parse_args(argv)))


def make_env(env_id: str):
    """A thunk for SyncVectorEnv: the env with CleanRL's wrappers."""
    def thunk() -> gym.Env:
        env = gym.make(f"execgym:{env_id}")
        env = gym.wrappers.FlattenObservation(env)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        if isinstance(env.action_space, gym.spaces.Box):
            env = gym.wrappers.ClipAction(env)
        env = gym.wrappers.NormalizeObservation(env)
        env = gym.wrappers.TransformObservation(env, lambda obs: np.clip(obs, -10, 10), env.observation_space)
        env = gym.wrappers.NormalizeReward(env, gamma=0.99)
        return gym.wrappers.TransformReward(env, lambda reward: float(np.clip(reward, -10, 10)))
    return thunk


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


def mlp(inputs: int, outputs: int, last_std: float) -> nn.Sequential:
    return nn.Sequential(layer_init(nn.Linear(inputs, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
                         layer_init(nn.Linear(64, outputs), std=last_std))


class Agent(nn.Module):
    """Critic and actor: Gaussian over a Box action, one categorical per dimension of a (Multi)Discrete one.
    ``masks`` (b, Σ nvec) bool, where given, forbid actions (their logits set to a large negative number)."""

    def __init__(self, observation_space: gym.spaces.Box, action_space: gym.spaces.Space) -> None:
        super().__init__()
        inputs = int(np.prod(observation_space.shape))
        self.critic = mlp(inputs, 1, 1.0)
        self.continuous = isinstance(action_space, gym.spaces.Box)
        if self.continuous:
            self.actor = mlp(inputs, int(np.prod(action_space.shape)), 0.01)
            self.log_std = nn.Parameter(torch.zeros(1, int(np.prod(action_space.shape))))
        else:
            self.nvec = [int(action_space.n)] if isinstance(action_space, gym.spaces.Discrete) else \
                [int(n) for n in action_space.nvec]
            self.actor = mlp(inputs, sum(self.nvec), 0.01)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs)

    def distributions(self, obs: torch.Tensor, masks: torch.Tensor | None = None) -> list:
        out = self.actor(obs)
        if self.continuous:
            return [Normal(out, self.log_std.expand_as(out).exp())]
        if masks is not None:
            out = torch.where(masks, out, torch.tensor(-1e8))
        return [Categorical(logits=logits) for logits in torch.split(out, self.nvec, dim=1)]

    def act(self, obs: torch.Tensor, masks: torch.Tensor | None = None, action: torch.Tensor | None = None):
        """(action, log-probability, entropy, value), sampling the action unless given."""
        dists = self.distributions(obs, masks)
        if self.continuous:
            action = dists[0].sample() if action is None else action
            return (action, dists[0].log_prob(action).sum(1), dists[0].entropy().sum(1), self.critic(obs))
        if action is None:
            action = torch.stack([d.sample() for d in dists], dim=1)
        log_prob = sum(d.log_prob(action[:, i]) for i, d in enumerate(dists))
        entropy = sum(d.entropy() for d in dists)
        return action, log_prob, entropy, self.critic(obs)

    def deterministic(self, obs: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        dists = self.distributions(obs, masks)
        if self.continuous:
            return dists[0].mean
        return torch.stack([d.probs.argmax(1) for d in dists], dim=1)


def env_actions(agent: Agent, action: torch.Tensor, action_space: gym.spaces.Space) -> np.ndarray:
    """The agent's (b, k) actions in the form the env takes: (b,) for Discrete, as they are otherwise."""
    actions = action.cpu().numpy()
    return actions[:, 0] if isinstance(action_space, gym.spaces.Discrete) else actions


def masks_of(info: dict) -> torch.Tensor | None:
    """The batch's action masks from the envs' infos, None for an env without masks."""
    return None if "action_mask" not in info else torch.as_tensor(np.asarray(info["action_mask"], dtype=bool))


class ScoredActor:
    """The trained actor as an execgym policy: raw observations (n, ...) of the native vector env in, the env's
    actions out, through the training wrappers' pipeline (flatten; normalise with NormalizeObservation's
    statistics, copied, so frozen, when the actor is made; clip at ±10), acting deterministically (the Gaussian's
    mean clipped to the action space as ClipAction does; the categorical mode among the allowed actions of a
    masked env, its masks from the observations)."""

    def __init__(self, agent: Agent, envs: gym.vector.SyncVectorEnv, env_id: str) -> None:
        normalize = envs.envs[0].get_wrapper_attr("obs_rms")
        self.mean, self.var, self.epsilon = normalize.mean.copy(), normalize.var.copy(), 1e-8
        self.agent, self.env_id = agent, env_id
        self.action_space = envs.envs[0].unwrapped.action_space
        spec = problem(env_id)
        params = envs.envs[0].unwrapped.params
        self.masks = None if spec.action_masks is None else (lambda obs: spec.action_masks(params, obs))

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        flat = observations.reshape(observations.shape[0], -1)
        normalized = np.clip((flat - self.mean) / np.sqrt(self.var + self.epsilon), -10, 10)
        masks = None if self.masks is None else torch.as_tensor(self.masks(observations))
        with torch.no_grad():
            action = self.agent.deterministic(torch.as_tensor(normalized, dtype=torch.float32), masks)
        actions = env_actions(self.agent, action, self.action_space)
        if isinstance(self.action_space, gym.spaces.Box):
            return np.clip(actions, self.action_space.low, self.action_space.high)
        return actions


def train(args: Args, log=print) -> tuple[Agent, gym.vector.SyncVectorEnv, list[float]]:
    """PPO for ``args.total_timesteps`` steps; returns the agent, its envs and every finished episode's return."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(1)              # a 64x64 MLP: more threads only add synchronisation on a busy machine
    envs = gym.vector.SyncVectorEnv([make_env(args.env_id) for _ in range(args.num_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    agent = Agent(envs.single_observation_space, envs.single_action_space)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    obs_shape, n = envs.single_observation_space.shape, args.num_envs
    obs = torch.zeros((args.num_steps, n) + obs_shape)
    actions = torch.zeros((args.num_steps, n, agent.actor[-1].out_features if agent.continuous else len(agent.nvec)))
    masks = torch.ones((args.num_steps, n, 0 if agent.continuous else sum(agent.nvec)), dtype=torch.bool)
    logprobs, rewards, dones, values = (torch.zeros((args.num_steps, n)) for _ in range(4))
    episode_returns: list[float] = []
    next_obs, info = envs.reset(seed=args.seed)
    next_obs, next_done, next_masks = torch.Tensor(next_obs), torch.zeros(n), masks_of(info)
    masked = next_masks is not None
    iterations = args.total_timesteps // batch_size
    start = time.time()
    for iteration in range(1, iterations + 1):
        optimizer.param_groups[0]["lr"] = args.learning_rate * (1.0 - (iteration - 1) / iterations)
        for step in range(args.num_steps):
            obs[step], dones[step] = next_obs, next_done
            if masked:
                masks[step] = next_masks
            with torch.no_grad():
                action, logprob, _, value = agent.act(next_obs, next_masks)
            values[step], actions[step], logprobs[step] = value.flatten(), action, logprob
            next_obs, reward, terminations, truncations, info = envs.step(
                env_actions(agent, action, envs.single_action_space))
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(np.logical_or(terminations, truncations))
            next_masks = masks_of(info)
            final = info.get("final_info", {})
            if "episode" in final:
                episode_returns += final["episode"]["r"][final["_episode"]].tolist()
        with torch.no_grad():
            next_value = agent.value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            last = 0
            for t in reversed(range(args.num_steps)):
                nonterminal = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
                following = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * nonterminal - values[t]
                advantages[t] = last = delta + args.gamma * args.gae_lambda * nonterminal * last
            returns = advantages + values
        b_obs, b_actions, b_masks = obs.reshape((-1,) + obs_shape), actions.flatten(0, 1), masks.flatten(0, 1)
        b_logprobs, b_advantages, b_returns = logprobs.reshape(-1), advantages.reshape(-1), returns.reshape(-1)
        for _ in range(args.update_epochs):
            for mb in np.array_split(rng.permutation(batch_size), args.num_minibatches):
                _, newlogprob, entropy, newvalue = agent.act(
                    b_obs[mb], b_masks[mb] if masked else None,
                    b_actions[mb] if agent.continuous else b_actions[mb].long())
                ratio = (newlogprob - b_logprobs[mb]).exp()
                advantage = b_advantages[mb]
                advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                pg_loss = torch.max(-advantage * ratio,
                                    -advantage * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)).mean()
                v_loss = 0.5 * ((newvalue.view(-1) - b_returns[mb]) ** 2).mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + args.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
        if iteration % args.log_every == 0 and episode_returns:
            log(f"step {iteration * batch_size:>9,}  episodes {len(episode_returns):>7,}  "
                f"mean return (last 100) {np.mean(episode_returns[-100:]):.4g}  {time.time() - start:.0f} s")
    return agent, envs, episode_returns


def main(argv: list[str] | None = None) -> execgym.ScoreResult:
    args = parse_args(argv)
    agent, envs, episode_returns = train(args)
    print(f"trained {args.total_timesteps:,} steps: {len(episode_returns):,} episodes, mean return of the last 100 "
          f"{np.mean(episode_returns[-100:]):.4g} (training units: before NormalizeReward)")
    result = execgym.score(ScoredActor(agent, envs, args.env_id), args.env_id, episodes=args.score_episodes,
                           params=envs.envs[0].unwrapped.params)
    print(result.summary())
    return result


if __name__ == "__main__":
    main()
