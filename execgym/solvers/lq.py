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

:func:`solve_lq_batch` runs the same recursion for many single-control problems (m = 1) of one shape at once,
vectorised over a leading markets axis (:func:`solve_lq_stacked` on coefficients already stacked); a problem's
solution does not depend on the others in its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.linalg import get_lapack_funcs


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


_POTRF, _POTRS = get_lapack_funcs(("potrf", "potrs"), (np.zeros((1, 1)),))


def _cholesky_solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    """``matrix``⁻¹·``rhs`` through LAPACK's Cholesky, or None if ``matrix`` is not positive definite.

    The routines and arguments of scipy's cho_factor and cho_solve (dpotrf, dpotrs, upper factor)
    without their per-call overhead or copies: ``matrix`` must be exactly symmetric (its transpose is
    then the same matrix in Fortran order) and both arrays are overwritten; ``rhs`` should be Fortran-ordered."""
    if matrix.size == 0:
        return np.empty_like(rhs)
    factor, info = _POTRF(matrix.T, lower=False, overwrite_a=True, clean=False)
    if info > 0:
        return None
    if info < 0:
        raise ValueError(f"LAPACK dpotrf reported an illegal value in argument {-info}")
    solved, info = _POTRS(factor, rhs, lower=False, overwrite_b=True)
    if info != 0:
        raise ValueError(f"LAPACK dpotrs reported an illegal value in argument {-info}")
    return solved


def _identity_sign(matrix: np.ndarray) -> float | None:
    """+1.0 or −1.0 when ``matrix`` is ±the identity, else None.

    Products with ±I are exact in floating point, so :func:`solve_lq` skips them (inventory dynamics
    x' = x − u have A = I, B = −I): an O(n³) product less per step each, with bit-identical results."""
    rows, cols = matrix.shape
    if rows != cols or (rows > 0 and abs(matrix[0, 0]) != 1.0):
        return None
    sign = float(matrix[0, 0]) if rows else 1.0
    return sign if np.array_equal(matrix, sign * np.eye(rows)) else None


def _identity_signs(matrices: np.ndarray) -> list[float | None]:
    """:func:`_identity_sign` of each step's matrix (K, r, c), checked once when they are one matrix broadcast."""
    if matrices.shape[0] and matrices.strides[0] == 0:
        return [_identity_sign(matrices[0])] * matrices.shape[0]
    return [_identity_sign(matrix) for matrix in matrices]


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
    # Terms in coefficients that were not given (zero) and products with A, B = ±I are skipped: they
    # add exact zeros or copy exactly, so the results are bit-identical to the full formulas.
    drift, noise = problem.c is not None, problem.W is not None
    linear_q, linear_r = problem.q is not None, problem.r is not None
    a_signs, b_signs = _identity_signs(a["A"]), _identity_signs(a["B"])
    rhs = np.empty((m, n + 1), order="F")
    for k in range(K - 1, -1, -1):
        A, B, c = a["A"][k], a["B"][k], a["c"][k]
        a_sign, b_sign = a_signs[k], b_signs[k]
        P_next, p_next = P[k + 1], p[k + 1]
        PB = P_next @ B if b_sign is None else b_sign * P_next
        drift_term = P_next @ c + p_next if drift else p_next
        H_uu = a["R"][k] + (B.T @ PB if b_sign is None else b_sign * PB)
        H_us = a["M"][k].T + (PB.T @ A if a_sign is None else np.ascontiguousarray(a_sign * PB.T))
        h_u = B.T @ drift_term if b_sign is None else b_sign * drift_term
        if linear_r:
            h_u = a["r"][k] + h_u
        rhs[:, :n], rhs[:, n] = H_us, h_u
        solved = _cholesky_solve(0.5 * (H_uu + H_uu.T), rhs)
        if solved is None:
            raise ValueError(f"LQ problem is not strictly convex in the control at step {k}: "
                             f"R + BᵀPB has eigenvalues {np.linalg.eigvalsh(H_uu)}")
        gain[k], offset[k] = -solved[:, :n], -solved[:, n]
        P[k] = a["Q"][k] + (A.T @ P_next @ A if a_sign is None else P_next) + H_us.T @ gain[k]
        P[k] = 0.5 * (P[k] + P[k].T)
        propagated = A.T @ drift_term if a_sign is None else a_sign * drift_term
        if linear_q:
            propagated = a["q"][k] + propagated
        p[k] = propagated + H_us.T @ offset[k]
        z_k = z[k + 1]
        if drift:
            z_k = z_k + c @ P_next @ c + 2.0 * p_next @ c
        if noise:
            z_k = z_k + np.trace(P_next @ a["W"][k])
        z[k] = z_k + h_u @ offset[k]
    return LQSolution(gain=gain, offset=offset, P=P, p=p, z=z)



def batch_matmul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Batched product of small matrices (b, i, k) @ (b, k, j) -> (b, i, j), summed over k in order 0, 1, ...

    Only elementwise multiplications and additions, so each market's entries are computed by the same
    floating-point operations whatever the batch holds (BLAS kernels may round differently with a batch's
    size or alignment)."""
    out = left[:, :, 0, None] * right[:, None, 0, :]
    for k in range(1, left.shape[2]):
        out = out + left[:, :, k, None] * right[:, None, k, :]
    return out


def batch_matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """(b, i, k) @ (b, k) -> (b, i), summed over k in order (as :func:`batch_matmul`)."""
    out = matrix[:, :, 0] * vector[:, 0, None]
    for k in range(1, matrix.shape[2]):
        out = out + matrix[:, :, k] * vector[:, k, None]
    return out


def batch_dot(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Row-wise dot products (b, k)·(b, k) -> (b,), summed over k in order (as :func:`batch_matmul`)."""
    out = left[:, 0] * right[:, 0]
    for k in range(1, left.shape[1]):
        out = out + left[:, k] * right[:, k]
    return out


def solve_lq_batch(problems) -> list[LQSolution]:
    """The Riccati recursion of :func:`solve_lq` for several single-control problems at once, vectorised with
    numpy over a leading markets axis.

    ``problems`` is a non-empty sequence of :class:`LQProblem` with one control (m = 1, so H_uu is a
    scalar per problem and step and ``K = −H_us/H_uu``, ``k = −h_u/H_uu``), the same number of steps and
    the same state size n. Returns one :class:`LQSolution` per problem, in order, each holding its own
    (contiguous) arrays.

    Every product of the small matrices is spelled out as a sum in a fixed order over elementwise numpy
    operations, so a problem's solution does not depend on the other problems in the batch: solving
    problems together equals solving each alone with this function, to the bit. It agrees with
    :func:`solve_lq` (LAPACK's Cholesky solve, BLAS products) to rounding, about 1e-15 relative.
    Cost: O(K·n³) elementwise operations on arrays of the batch's length; memory O(b·K·n²).
    A problem whose H_uu is not positive at some step raises ValueError naming its index and the step.
    """
    problems = list(problems)
    if not problems:
        raise ValueError("problems must hold at least one LQProblem, got none")
    first = problems[0]
    K, n = first.steps, first.n
    for index, problem in enumerate(problems):
        if not isinstance(problem, LQProblem):
            raise TypeError(f"problems[{index}] must be an LQProblem, got {type(problem).__name__}")
        if problem.m != 1:
            raise ValueError(f"solve_lq_batch solves problems with one control (m = 1); problems[{index}] has "
                             f"m = {problem.m}: use solve_lq")
        if (problem.steps, problem.n) != (K, n):
            raise ValueError(f"every problem of a batch must have the steps and state size of problems[0] "
                             f"({K}, {n}); problems[{index}] has ({problem.steps}, {problem.n})")
    arrays = [problem.arrays() for problem in problems]
    gain, offset, P, p, z = solve_lq_stacked({name: np.stack([each[name] for each in arrays]) for name in arrays[0]})
    b = len(problems)
    return [LQSolution(gain=gain[i, :, None].copy(), offset=offset[i, :, None].copy(), P=P[i].copy(), p=p[i].copy(),
                       z=z[i].copy()) for i in range(b)]


def stacked_step(a: dict[str, np.ndarray], k: int, P_next: np.ndarray, p_next: np.ndarray, z_next: np.ndarray,
                 label: str = "LQ problem {index} of the batch") -> tuple[np.ndarray, ...]:
    """One step k of :func:`solve_lq_stacked` from the value V_{k+1} = (P_next (b, n, n), p_next (b, n), z_next
    (b,)) of the b problems: (gain (b, n), offset (b,), P_k, p_k, z_k), elementwise over the problems (module
    docstring's formulas). Raises ValueError naming (``label`` with the problem's index) the first problem whose
    H_uu is not positive."""
    b, n = a["Q"].shape[0], a["Q"].shape[2]
    A_k, B_k, c_k = a["A"][:, k], a["B"][:, k, :, 0], a["c"][:, k]
    PB = batch_matvec(P_next, B_k)                                             # P'B, (b, n)
    drift_term = batch_matvec(P_next, c_k) + p_next                            # P'c + p'
    H_uu = a["R"][:, k, 0, 0] + batch_dot(B_k, PB)                             # R + BᵀP'B, (b,)
    H_us = a["M"][:, k, :, 0] + batch_matvec(np.swapaxes(A_k, 1, 2), PB)       # Mᵀ + BᵀP'A, (b, n)
    h_u = a["r"][:, k, 0] + batch_dot(B_k, drift_term)                         # r + Bᵀ(P'c + p')
    bad = ~(H_uu > 0.0)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{label.format(index=index)} is not strictly convex in the control at step {k}: "
                         f"R + BᵀPB = {H_uu[index]:g}")
    gain = -H_us / H_uu[:, None]
    offset = -h_u / H_uu
    AtPA = batch_matmul(np.swapaxes(A_k, 1, 2), batch_matmul(P_next, A_k))
    P_k = a["Q"][:, k] + AtPA + H_us[:, :, None] * gain[:, None, :]
    p_k = a["q"][:, k] + batch_matvec(np.swapaxes(A_k, 1, 2), drift_term) + H_us * offset[:, None]
    trace = batch_dot(P_next.reshape(b, n * n), np.swapaxes(a["W"][:, k], 1, 2).reshape(b, n * n))  # tr(P'W)
    z_k = (z_next + batch_dot(c_k, batch_matvec(P_next, c_k)) + 2.0 * batch_dot(p_next, c_k) + trace
           + h_u * offset)
    return gain, offset, 0.5 * (P_k + np.swapaxes(P_k, 1, 2)), p_k, z_k


class StackedSolution(NamedTuple):
    """:func:`solve_lq_stacked`'s solutions of b single-control problems: u_k = gain[i, k]·s + offset[i, k] and
    V_k(s) = sᵀP[i, k]s + 2p[i, k]ᵀs + z[i, k] for problem i."""

    gain: np.ndarray     # (b, K, n)
    offset: np.ndarray   # (b, K)
    P: np.ndarray        # (b, K+1, n, n)
    p: np.ndarray        # (b, K+1, n)
    z: np.ndarray        # (b, K+1)


def solve_lq_stacked(a: dict[str, np.ndarray]) -> StackedSolution:
    """The recursion of :func:`solve_lq_batch` on coefficients already stacked over the problems: ``a`` holds
    what :meth:`LQProblem.arrays` gives, with a leading problems axis (b, K, ...) per step and (b, ...) for
    ``Q_final`` and ``q_final``, one control (B (b, K, n, 1), R (b, K, 1, 1), M (b, K, n, 1), r (b, K, 1)).
    Raises ValueError naming the first problem whose H_uu is not positive."""
    b, K, n = a["Q"].shape[:3]
    gain = np.zeros((b, K, n))
    offset = np.zeros((b, K))
    P = np.zeros((b, K + 1, n, n))
    p = np.zeros((b, K + 1, n))
    z = np.zeros((b, K + 1))
    P[:, K], p[:, K] = a["Q_final"], a["q_final"]
    for k in range(K - 1, -1, -1):
        gain[:, k], offset[:, k], P[:, k], p[:, k], z[:, k] = stacked_step(a, k, P[:, k + 1], p[:, k + 1],
                                                                           z[:, k + 1])
    return StackedSolution(gain, offset, P, p, z)
