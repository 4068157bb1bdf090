"""Markov-jump linear-quadratic control: the LQ problem of :mod:`.lq` whose coefficients switch with an
observed regime that follows a Markov chain.

In regime r at step k the state moves and costs as the LQ problem with regime r's coefficients (A^r, B^r, Q^r,
R^r, M^r, q^r, r^r, c^r, W^r at step k; one control); then the regime moves to r' with probability T[r, r'],
independently of the state's noise, and the final cost is regime r's at the last step. The optimal policy is
affine in the state per regime, u_k = K_k^r s + k_k^r, and the optimal cost-to-go quadratic per regime,
V_k^r(s) = sᵀP_k^r s + 2p_k^rᵀs + z_k^r: the coupled Riccati recursions (Costa, Fragoso & Marques 2005,
"Discrete-Time Markov Jump Linear Systems", ch. 4). Each step mixes the next step's values by the regime's
transition row, P̄^r = Σ_r' T[r, r']·P_{k+1}^{r'} (and p̄, z̄ alike: the expectation over the next regime is linear,
and it does not depend on the state's noise), then takes one LQ step with them
(:func:`~.lq.stacked_step`, the regimes in place of :func:`~.lq.solve_lq_stacked`'s problems).

Cost: O(K·(R²·n² + R·n³)) time, O(K·R·n²) memory.
"""

from __future__ import annotations

import numpy as np

from execgym.solvers.lq import StackedSolution, stacked_step


def solve_jump_lq(a: dict[str, np.ndarray], transitions: np.ndarray) -> StackedSolution:
    """The coupled Riccati recursions (module docstring). ``a`` holds the coefficients stacked over the R regimes
    as :func:`~.lq.solve_lq_stacked` takes them over problems ((R, K, ...) per step, (R, ...) for ``Q_final``
    and ``q_final``; one control); ``transitions`` (R, R) is row-stochastic, T[r, r'] the probability of
    regime r' at step k + 1 given r at step k. Returns the solution per regime (the leading axis of each
    array). ValueError for a ``transitions`` of another shape or not row-stochastic, or a step not strictly
    convex in the control."""
    regimes, K, n = a["Q"].shape[:3]
    transitions = np.asarray(transitions, dtype=np.float64)
    if transitions.shape != (regimes, regimes):
        raise ValueError(f"transitions must have shape ({regimes}, {regimes}), got {transitions.shape}")
    if (transitions < 0.0).any() or not np.allclose(transitions.sum(axis=1), 1.0, rtol=0.0, atol=1e-12):
        raise ValueError("transitions must be row-stochastic: entries >= 0, each row summing to 1")
    gain, offset = np.zeros((regimes, K, n)), np.zeros((regimes, K))
    P, p, z = np.zeros((regimes, K + 1, n, n)), np.zeros((regimes, K + 1, n)), np.zeros((regimes, K + 1))
    P[:, K], p[:, K] = a["Q_final"], a["q_final"]
    for k in range(K - 1, -1, -1):
        mixed_P = np.einsum("rs,sij->rij", transitions, P[:, k + 1])
        mixed_p, mixed_z = transitions @ p[:, k + 1], transitions @ z[:, k + 1]
        gain[:, k], offset[:, k], P[:, k], p[:, k], z[:, k] = stacked_step(a, k, mixed_P, mixed_p, mixed_z,
                                                                           label="the problem in regime {index}")
    return StackedSolution(gain, offset, P, p, z)
