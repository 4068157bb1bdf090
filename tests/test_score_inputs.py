"""score() takes whatever a user holds (a callable, an Oracle, a baseline's name, "oracle", a trained SB3 model)
and compares with a reference policy where no oracle is built, saying so."""

import numpy as np
import pytest

import execgym
from execgym import OracleUnavailable


def zero_trades(obs):
    return np.zeros((len(obs), 1))


def test_a_baseline_name_and_oracle_scores_as_the_objects_do():
    by_name = execgym.score("twap", "OptimalExec-v0", episodes=300, seed=1)
    by_object = execgym.score(execgym.make_baseline("OptimalExec-v0", "twap"), "OptimalExec-v0", episodes=300, seed=1)
    assert by_name == by_object
    oracle = execgym.make_oracle("OptimalExec-v0")
    for thing in ("oracle", oracle):
        result = execgym.score(thing, "OptimalExec-v0", episodes=300, seed=1)
        assert result.regret.mean == 0.0 and result.regret.std == 0.0       # the same policy on the same episodes
        assert result.policy_return == result.reference_return and result.oracle_return == oracle.expected_return


def test_anything_else_is_a_type_error_naming_what_is_accepted():
    with pytest.raises(TypeError, match=r"cannot score a int: .*callable.*Oracle.*PPO, TRPO, MaskablePPO.*"
                                        r"\['back_loaded', 'front_loaded', 'pov', 'twap', 'vwap'\] or 'oracle'"):
        execgym.score(3, "OptimalExec-v0", episodes=10)
    with pytest.raises(ValueError, match=r"unknown policy name 'tw' for OptimalExec-v0: its baselines are \[.*"
                                         r"'twap', 'vwap'\], and 'oracle'"):
        execgym.score("tw", "OptimalExec-v0", episodes=10)


def test_a_reference_replaces_the_oracle_and_the_paired_difference_is_the_difference_of_regrets():
    against_twap = execgym.score("vwap", "OptimalExec-v0", episodes=2_000, seed=4, reference="twap")
    twap = execgym.score("twap", "OptimalExec-v0", episodes=2_000, seed=4)
    vwap = execgym.score("vwap", "OptimalExec-v0", episodes=2_000, seed=4)
    assert against_twap.reference == "twap" and against_twap.oracle_return is None
    assert against_twap.reference_return == twap.policy_return and against_twap.policy_return == vwap.policy_return
    assert against_twap.regret.mean == pytest.approx(vwap.regret.mean - twap.regret.mean, abs=1e-9)
    assert against_twap.regret_pct.mean == pytest.approx(100 * against_twap.regret.mean / abs(twap.policy_return.mean))
    assert "no oracle: compared with twap as asked" in against_twap.summary()
    assert against_twap.oracle_cost.seconds > 0 and "periods (lq solver)" in against_twap.oracle_note
    with pytest.raises(ValueError, match="not both"):
        execgym.score("vwap", "OptimalExec-v0", reference="twap", oracle=execgym.make_oracle("OptimalExec-v0"))


def test_the_oracle_named_as_the_reference_is_the_oracle():
    named = execgym.score("vwap", "OptimalExec-v0", episodes=500, seed=2, reference="oracle")
    assert named == execgym.score("vwap", "OptimalExec-v0", episodes=500, seed=2)
    assert named.oracle_return == execgym.make_oracle("OptimalExec-v0").expected_return and "no oracle" not in \
        named.summary()


def test_a_full_trading_day_of_twap_vwap_scores_against_a_baseline_quickly_with_the_oracle_estimate():
    result = execgym.score("vwap", "TwapVwapSwitch-v0", episodes=200, reference="twap", buckets=390)
    assert result.oracle_return is None and result.reference == "twap"
    assert result.oracle_cost.size > 1e100 and result.oracle_cost.seconds > 1e90
    assert result.oracle_cost.refusal.startswith("more than 4,000,000 reachable state-action pairs")
    summary = result.summary()
    assert "twap − policy" in summary and "years (5.04e+117 reachable state–action pairs" in summary
    with pytest.raises(OracleUnavailable, match=r"TwapVwapSwitch-v0 has no oracle for these parameters: about "
                                                r".* years .* reference=NAME\), NAME one of \['twap', 'vwap'\]"):
        execgym.score("vwap", "TwapVwapSwitch-v0", episodes=200, buckets=390)


def test_an_oracle_past_the_time_budget_is_refused_unless_the_budget_allows_it():
    with pytest.raises(OracleUnavailable, match=r"building it would take about .* more than max_oracle_seconds = "
                                                r"1e-06; raise max_oracle_seconds"):
        execgym.score(zero_trades, "OptimalExec-v0", episodes=10, max_oracle_seconds=1e-6)
    assert execgym.score(zero_trades, "OptimalExec-v0", episodes=10, max_oracle_seconds=1.0).oracle_return < 0
    with pytest.raises(OracleUnavailable, match="no exact oracle: .*no exact oracle for mean reversion"):
        execgym.score(zero_trades, "OptimalExec-v0", episodes=10, mean_reversion=2.0, impact_exponent=0.5)
    with pytest.raises(OracleUnavailable, match="handles up to 16 trades"):
        execgym.score(lambda obs: np.argmin(obs[:, :17], axis=1), "BasketSequence-v0", episodes=10, trades=17)


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_a_trained_sb3_model_scores_as_its_deterministic_policy(algo):
    from execgym.agents.sb3 import build_model
    from execgym.sb3 import NativeVecEnv, SB3Policy

    venv = NativeVecEnv(execgym.registry.problem("OptimalExec-v0").vector_env_class(num_envs=8))
    model = build_model(algo, venv, {"n_steps": 32, "batch_size": 64}, seed=0)
    model.learn(256)
    assert execgym.score(model, "OptimalExec-v0", episodes=100) == execgym.score(SB3Policy(model), "OptimalExec-v0",
                                                                                episodes=100)
    assert execgym.score(model.policy, "OptimalExec-v0", episodes=100).policy_return == \
        execgym.score(model, "OptimalExec-v0", episodes=100).policy_return


def test_a_maskable_ppo_model_scores_with_the_masks_of_its_observations():
    from execgym.agents.sb3 import build_model
    from execgym.problems.basket_sequence.env import BasketSequenceVectorEnv
    from execgym.sb3 import NativeVecEnv

    model = build_model("maskable_ppo", NativeVecEnv(BasketSequenceVectorEnv(num_envs=8, trades=5)),
                        {"n_steps": 32, "batch_size": 64}, seed=0)
    model.learn(256)
    result = execgym.score(model, "BasketSequence-v0", episodes=100, trades=5)   # a masked pick would raise
    assert result.regret.low >= -1e-9 and result.oracle_return == execgym.make_oracle(
        "BasketSequence-v0", trades=5).expected_return
