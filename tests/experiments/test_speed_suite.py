"""The speed suite's runners drive every registered env (and CartPole-v1) with valid actions, scalar and vector."""

import pytest

from execgym.registry import PROBLEMS
from experiments.benchmarks import speed


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
