"""examples/cleanrl_ppo.py, the CleanRL-style loop (SyncVectorEnv in SAME_STEP mode over gym.make("execgym:<id>") with
CleanRL's wrappers), trains on every registered id, its episodes finish, and execgym.score scores the actor."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import execgym

pytest.importorskip("torch")
SCRIPT = Path(__file__).parents[1] / "examples" / "cleanrl_ppo.py"
spec = importlib.util.spec_from_file_location("cleanrl_ppo", SCRIPT)
cleanrl_ppo = sys.modules["cleanrl_ppo"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cleanrl_ppo)


def train_and_score(env_id: str, steps_per_env: int):
    args = cleanrl_ppo.Args(env_id=env_id, total_timesteps=4 * steps_per_env, num_envs=4, num_steps=64,
                            update_epochs=2, log_every=10**9)
    agent, envs, episode_returns = cleanrl_ppo.train(args)
    actor = cleanrl_ppo.ScoredActor(agent, envs, env_id)
    return envs, episode_returns, actor, execgym.score(actor, env_id, episodes=50)


def check(env_id: str, steps_per_env: int):
    envs, episode_returns, actor, result = train_and_score(env_id, steps_per_env)
    assert len(episode_returns) >= 4 and np.isfinite(episode_returns).all()
    assert np.isfinite(result.policy_return.mean) and result.regret.mean >= result.regret.half_width * -3
    wrapped = envs.envs[0]
    normalize = wrapped.get_wrapper_attr("obs_rms")
    raw, _ = wrapped.unwrapped.reset(seed=3)                 # the actor sees what the wrappers made of it
    expected = np.clip((raw - normalize.mean) / np.sqrt(normalize.var + 1e-8), -10, 10)
    np.testing.assert_allclose((raw - actor.mean) / np.sqrt(actor.var + actor.epsilon), expected, rtol=1e-6)


@pytest.mark.parametrize("env_id", ["OptimalExec-v0", "BasketSequence-v0"])
def test_the_loop_trains_and_scores_a_box_and_a_masked_discrete_env(env_id):
    check(env_id, steps_per_env=64)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(execgym.PROBLEMS))
def test_the_loop_trains_and_scores_every_registered_env(env_id):
    check(env_id, steps_per_env=256)                         # MarketMaking-v0's episodes are 200 steps
