"""The Riccati solver against independent computations: a dense quadratic program and moment propagation."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from execgym.solvers.lq import LQProblem, solve_lq


def random_problem(rng, n, m, steps, noise=True):
    def spd(size, floor):
        a = rng.normal(size=(size, size))
        return a @ a.T / size + floor * np.eye(size)

    return LQProblem(
        A=rng.normal(size=(steps, n, n)) * 0.5, B=rng.normal(size=(steps, n, m)),
        Q=np.stack([spd(n, 0.1) for _ in range(steps)]), R=np.stack([spd(m, 0.5) for _ in range(steps)]),
        M=rng.normal(size=(steps, n, m)) * 0.05, q=rng.normal(size=(steps, n)), r=rng.normal(size=(steps, m)),
        c=rng.normal(size=(steps, n)), W=np.stack([spd(n, 0.0) for _ in range(steps)]) if noise else None,
        Q_final=spd(n, 0.1), q_final=rng.normal(size=n), steps=steps)


def dense_cost(problem, s0, u_flat):
    """Total cost of an open-loop control sequence with the noise at zero."""
    a = problem.arrays()
    u = u_flat.reshape(problem.steps, problem.m)
    s, total = s0, 0.0
    for k in range(problem.steps):
        total += (s @ a["Q"][k] @ s + u[k] @ a["R"][k] @ u[k] + 2 * s @ a["M"][k] @ u[k]
                  + 2 * a["q"][k] @ s + 2 * a["r"][k] @ u[k])
        s = a["A"][k] @ s + a["B"][k] @ u[k] + a["c"][k]
    return total + s @ a["Q_final"] @ s + 2 * a["q_final"] @ s


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 3), m=st.integers(1, 3), steps=st.integers(1, 6))
def test_deterministic_value_and_controls_equal_the_dense_quadratic_minimum(seed, n, m, steps):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n, m, steps, noise=False)
    s0 = rng.normal(size=n)
    # The total cost f(u) = f0 + gᵀu + uᵀHu is quadratic in the stacked controls; read H and g off
    # exact evaluations: f(e_i + e_j) − f(e_i) − f(e_j) + f0 = 2H_ij and f(e_i) = f0 + g_i + H_ii.
    dim = steps * m
    basis = np.eye(dim)
    f0 = dense_cost(problem, s0, np.zeros(dim))
    f_e = np.array([dense_cost(problem, s0, e) for e in basis])
    f_2e = np.array([[dense_cost(problem, s0, basis[i] + basis[j]) for j in range(dim)] for i in range(dim)])
    H = 0.5 * (f_2e - f_e[:, None] - f_e[None, :] + f0)
    g = f_e - f0 - np.diag(H)
    u_star = np.linalg.solve(2 * H, -g)
    best = dense_cost(problem, s0, u_star)
    solution = solve_lq(problem)
    assert solution.value(0, s0) == pytest.approx(best, rel=1e-9, abs=1e-9)
    _, controls = solution.rollout_mean(problem, s0)
    np.testing.assert_allclose(controls.ravel(), u_star, rtol=1e-7, atol=1e-8)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 3), m=st.integers(1, 2), steps=st.integers(1, 5))
def test_noisy_value_equals_exact_moment_propagation_of_the_feedback_policy(seed, n, m, steps):
    """E[cost] of u = Ks + k under Gaussian noise, computed by propagating the state's mean and covariance."""
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n, m, steps, noise=True)
    a = problem.arrays()
    solution = solve_lq(problem)
    s0 = rng.normal(size=n)
    mean, cov, expected = s0, np.zeros((n, n)), 0.0
    for k in range(steps):
        K, off = solution.gain[k], solution.offset[k]
        # cost in terms of s: sᵀ(Q + KᵀRK + 2MK)s + linear + constant, evaluated in expectation
        quad = a["Q"][k] + K.T @ a["R"][k] @ K + a["M"][k] @ K + K.T @ a["M"][k].T
        lin = 2 * (K.T @ a["R"][k] @ off + a["M"][k] @ off + a["q"][k] + K.T @ a["r"][k])
        const = off @ a["R"][k] @ off + 2 * a["r"][k] @ off
        expected += mean @ quad @ mean + np.trace(quad @ cov) + lin @ mean + const
        F = a["A"][k] + a["B"][k] @ K
        mean = F @ mean + a["B"][k] @ off + a["c"][k]
        cov = F @ cov @ F.T + a["W"][k]
    expected += mean @ a["Q_final"] @ mean + np.trace(a["Q_final"] @ cov) + 2 * a["q_final"] @ mean
    assert solution.value(0, s0) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_a_non_convex_control_cost_raises():
    problem = LQProblem(A=np.eye(1), B=np.eye(1), Q=[[1.0]], R=[[-1.0]], Q_final=[[0.0]], steps=2)
    with pytest.raises(ValueError, match="not strictly convex"):
        solve_lq(problem)


def test_wrong_shapes_raise_naming_the_coefficient():
    problem = LQProblem(A=np.eye(2), B=np.ones((2, 1)), Q=np.eye(3), R=[[1.0]], Q_final=np.eye(2), steps=2)
    with pytest.raises(ValueError, match="Q must have shape"):
        solve_lq(problem)
