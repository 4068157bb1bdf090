"""Finite-horizon linear-quadratic control by backward Riccati recursion.

Problem (steps k = 0 .. K−1, state s ∈ ℝⁿ, control u ∈ ℝᵐ)::

    s_{k+1} = A_k s_k + B_k u_k + c_k + w_k,      E[w_k] = 0, Cov[w_k] = W_k,
    stage cost   ℓ_k(s, u) = sᵀQ_k s + uᵀR_k u + 2 sᵀM_k u + 2 q_kᵀs + 2 r_kᵀu,
    final cost   sᵀQ_f s + 2 q_fᵀs.

The optimal policy over all non-anticipating policies is affine,
``u_k = K_k s + k_k``, and the optimal expected cost-to-go is quadratic,
``V_k(s) = sᵀP_k s + 2 p_kᵀs + z_k``. With ``V_K`` the final cost and the
primed quantities those of step k+1, each step computes::

    H_uu = R + BᵀP'B          H_us = Mᵀ + BᵀP'A          h_u = r + Bᵀ(P'c + p')
    K = −H_uu⁻¹ H_us           k = −H_uu⁻¹ h_u
    P = Q + AᵀP'A + H_usᵀK     p = q + Aᵀ(P'c + p') + H_usᵀk
    z = z' + cᵀP'c + 2p'ᵀc + tr(P'W) + h_uᵀk

Cost: O(K·(n + m)³) time and O(K·n·(n + m)) memory; the dense (K·m)×(K·m)
quadratic program is never formed. Every H_uu must be positive definite (the
problem strictly convex in the controls); a step where it is not raises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve


def _per_step(name: str, value, steps: int, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` broadcast to (steps, *shape): a single matrix is used at every step."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape == shape:
        return np.broadcast_to(array, (steps, *shape))
    if array.shape == (steps, *shape):
        return array
    raise ValueError(f"{name} must have shape {shape} or {(steps, *shape)}, got {array.shape}")


@dataclass(frozen=True)
class LQProblem:
    """A finite-horizon LQ problem; matrices may be given once (time-invariant) or per step."""

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    Q_final: np.ndarray
    steps: int
    M: np.ndarray | None = None
    q: np.ndarray | None = None
    r: np.ndarray | None = None
    c: np.ndarray | None = None
    W: np.ndarray | None = None
    q_final: np.ndarray | None = None

    @property
    def n(self) -> int:
        """State dimension."""
        return np.shape(self.Q_final)[-1]

    @property
    def m(self) -> int:
        """Control dimension."""
        return np.shape(self.R)[-1]

    def arrays(self) -> dict[str, np.ndarray]:
        """Every coefficient broadcast to its per-step shape (zeros where not given)."""
        K, n, m = self.steps, self.n, self.m
        if K < 0:
            raise ValueError(f"steps must be >= 0, got {K}")

        def get(name, shape):
            value = getattr(self, name)
            return _per_step(name, np.zeros(shape) if value is None else value, K, shape)

        q_final = np.zeros(n) if self.q_final is None else np.asarray(self.q_final, dtype=np.float64)
        if q_final.shape != (n,):
            raise ValueError(f"q_final must have shape {(n,)}, got {q_final.shape}")
        Q_final = np.asarray(self.Q_final, dtype=np.float64)
        if Q_final.shape != (n, n):
            raise ValueError(f"Q_final must have shape {(n, n)}, got {Q_final.shape}")
        return dict(A=get("A", (n, n)), B=get("B", (n, m)), Q=get("Q", (n, n)), R=get("R", (m, m)),
                    M=get("M", (n, m)), q=get("q", (n,)), r=get("r", (m,)), c=get("c", (n,)),
                    W=get("W", (n, n)), Q_final=Q_final, q_final=q_final)


@dataclass(frozen=True)
class LQSolution:
    """Optimal affine feedback ``u_k = gain[k] @ s + offset[k]`` and value ``sᵀP_k s + 2p_kᵀs + z_k``."""

    gain: np.ndarray     # (K, m, n)
    offset: np.ndarray   # (K, m)
    P: np.ndarray        # (K+1, n, n)
    p: np.ndarray        # (K+1, n)
    z: np.ndarray        # (K+1,)

    def control(self, k: int, states: np.ndarray) -> np.ndarray:
        """Optimal controls at step k for a batch of states (..., n) -> (..., m)."""
        return states @ self.gain[k].T + self.offset[k]

    def value(self, k: int, states: np.ndarray) -> np.ndarray:
        """Optimal expected cost-to-go from step k for a batch of states (..., n) -> (...)."""
        states = np.asarray(states, dtype=np.float64)
        quadratic = np.einsum("...i,ij,...j->...", states, self.P[k], states)
        return quadratic + 2.0 * states @ self.p[k] + self.z[k]

    def rollout_mean(self, problem: LQProblem, s0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """States (K+1, n) and controls (K, m) of the optimal policy with the noise at its mean (zero)."""
        a = problem.arrays()
        states = [np.asarray(s0, dtype=np.float64)]
        controls = []
        for k in range(problem.steps):
            u = self.control(k, states[-1])
            controls.append(u)
            states.append(a["A"][k] @ states[-1] + a["B"][k] @ u + a["c"][k])
        return np.array(states), np.array(controls).reshape(problem.steps, problem.m)


def solve_lq(problem: LQProblem) -> LQSolution:
    """Backward Riccati recursion for ``problem`` (see the module docstring)."""
    a = problem.arrays()
    K, n, m = problem.steps, problem.n, problem.m
    gain = np.zeros((K, m, n))
    offset = np.zeros((K, m))
    P = np.zeros((K + 1, n, n))
    p = np.zeros((K + 1, n))
    z = np.zeros(K + 1)
    P[K], p[K] = a["Q_final"], a["q_final"]
    for k in range(K - 1, -1, -1):
        A, B, c = a["A"][k], a["B"][k], a["c"][k]
        P_next, p_next = P[k + 1], p[k + 1]
        PB = P_next @ B
        drift_term = P_next @ c + p_next
        H_uu = a["R"][k] + B.T @ PB
        H_us = a["M"][k].T + PB.T @ A
        h_u = a["r"][k] + B.T @ drift_term
        try:
            factor = cho_factor(0.5 * (H_uu + H_uu.T), check_finite=False)
        except np.linalg.LinAlgError:
            raise ValueError(f"LQ problem is not strictly convex in the control at step {k}: "
                             f"R + BᵀPB has eigenvalues {np.linalg.eigvalsh(H_uu)}") from None
        solved = cho_solve(factor, np.column_stack([H_us, h_u]), check_finite=False)
        gain[k], offset[k] = -solved[:, :n], -solved[:, n]
        P[k] = a["Q"][k] + A.T @ P_next @ A + H_us.T @ gain[k]
        P[k] = 0.5 * (P[k] + P[k].T)
        p[k] = a["q"][k] + A.T @ drift_term + H_us.T @ offset[k]
        z[k] = (z[k + 1] + c @ P_next @ c + 2.0 * p_next @ c + np.trace(P_next @ a["W"][k])
                + h_u @ offset[k])
    return LQSolution(gain=gain, offset=offset, P=P, p=p, z=z)

