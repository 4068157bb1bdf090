"""The Oracle record refuses non-finite numbers, whatever the problem that builds it."""

import numpy as np
import pytest

from execgym.policy import Oracle
from execgym.problems.market_making.oracle import QuoteOracle


def policy(observations):
    return observations


@pytest.mark.parametrize("fields, message", [
    (dict(expected_return=float("nan")), r"Oracle.expected_return must be finite, got nan"),
    (dict(expected_return=np.float64(-np.inf)), r"Oracle.expected_return must be finite, got -inf"),
    (dict(expected_return=1.0, schedule=np.array([1.0, np.inf, 0.0])),
     r"Oracle.schedule must be finite, got an array of shape \(3,\) with inf at index \(1,\)"),
    (dict(expected_return=1.0, expected_shortfall=np.nan), r"Oracle.expected_shortfall must be finite"),
    (dict(expected_return=1.0, variance=np.inf), r"Oracle.variance must be finite"),
])
def test_oracle_refuses_non_finite_numbers(fields, message):
    with pytest.raises(ValueError, match=message):
        Oracle(policy=policy, **fields)


def test_subclass_fields_are_checked_too_and_finite_oracles_pass():
    with pytest.raises(ValueError, match=r"QuoteOracle.certainty_equivalent must be finite, got -inf"):
        QuoteOracle(policy=policy, expected_return=1.0, certainty_equivalent=-np.inf)
    oracle = Oracle(policy=policy, expected_return=-3, schedule=np.arange(4.0), variance=0.0, clip_probability=1e-9)
    assert oracle.expected_return == -3
