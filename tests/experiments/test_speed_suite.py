"""The speed suite's runners drive every registered env (and CartPole-v1) with valid actions, scalar and vector."""

import pytest

from execgym.registry import PROBLEMS
from experiments.benchmarks import speed


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(PROBLEMS) + [speed.REFERENCE])
def test_runners_step_every_env_through_episode_ends(env_id):
    assert speed.scalar_run(env_id, 60)() == 60                 # 60 steps: every env's default episode ends
    assert speed.vector_run(env_id, 4, "native", agent_steps=240)() == 240
    assert speed.vector_run(env_id, 2, "sync", agent_steps=6)() == 6


def test_table_marks_targets_and_formats_rates():
    text = speed.table([("X-v0", "scalar", 2.5e6, 1.25e6, 2.0, "ratio >= 1", True),
                        ("X-v0", "oracle solve, s", 0.0123, None, None, "", None)])
    assert "| X-v0 | scalar | 2.50 M | 1.25 M | 2.00× | ratio >= 1 | yes |" in text
    assert "| X-v0 | oracle solve, s | 0.0123 |  |  |  |  |" in text


def test_numpy_reference_period_equals_the_envs_period():
    """The plain-numpy period the suite times against gives the rewards and observations of the envs' own
    (plain Python for one episode, compiled over a batch), so the speed ratio compares like with like."""
    import numpy as np

    from execgym import engine
    from execgym.problems.optimal_exec import dynamics
    from execgym.problems.optimal_exec.params import OptimalExecParams
    from experiments.benchmarks import numpy_reference

    params = OptimalExecParams()
    batch = engine.start(dynamics.DYNAMICS, params, np.arange(64), np.zeros(64, dtype=np.uint64))
    fractions = np.linspace(0.0, 1.0, 64)
    for _ in range(params.periods):
        numpy_batch, numpy_reward, numpy_obs = numpy_reference.numpy_step(params, batch, fractions)
        batch, reward, obs = numpy_reference.compiled_step(params, batch, fractions)
        np.testing.assert_allclose(reward, numpy_reward, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(obs, numpy_obs, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(batch.state.price, numpy_batch.state.price, rtol=1e-14)
    rows = numpy_reference.rows(repeats=1, calls=100)
    assert [row[1].split(":")[0] for row in rows] == ["one period, one episode", "one period, 16,384 episodes"]
