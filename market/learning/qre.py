"""Logit quantal-response equilibria of a bimatrix game, traced from lambda = 0 (McKelvey-Palfrey 1995).

At precision lambda each player plays the logit response to the other's mixed
strategy: x = softmax(lambda A y), y = softmax(lambda B^T x). At lambda = 0 both play
uniformly; the principal branch of solutions, followed as lambda grows, converges to
one Nash equilibrium: the logit tracing procedure's selection.

The branch is followed in the log-probabilities (u, w) = (log x, log y) by
pseudo-arclength continuation (tangent from the Jacobian's null space, Euler
predictor, Newton corrector on the system augmented by the arclength condition),
so it passes turning points in lambda. Payoffs are scaled to a maximum absolute
value of 1 first, so lambda is in units of the best payoff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp, softmax

from agora.market.errors import InputError
from agora.market.learning.rules import scaled

NEWTON_TOL = 1e-10
MAX_NEWTON = 8


@dataclass
class QREBranch:
    """Points of the principal logit branch: lambdas and both mixed strategies at each."""

    lambdas: np.ndarray
    row: np.ndarray  # points x rows
    col: np.ndarray  # points x columns
    method: str
    steps: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def last(self) -> tuple[float, np.ndarray, np.ndarray]:
        return float(self.lambdas[-1]), self.row[-1], self.col[-1]

    def at(self, A, B, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """The branch's QRE at exactly ``lam``: Newton at fixed lambda from the nearest traced point below.

        (Where the branch turns back in lambda, this is the solution continued from that point.)
        """
        if not 0 <= lam <= self.lambdas.max():
            raise InputError(f"the branch was traced for lambda in [0, {self.lambdas.max():g}], not {lam:g}")
        A, B = scaled(np.asarray(A, float)), scaled(np.asarray(B, float))
        k = int(np.flatnonzero(self.lambdas <= lam)[-1])
        n = self.row.shape[1]
        z = np.concatenate([np.log(self.row[k]), np.log(self.col[k]), [lam]])
        for _ in range(50):
            r = _residual(A, B, z, n)
            if np.max(np.abs(r)) < NEWTON_TOL:
                return np.exp(z[:n]), np.exp(z[n:-1])
            z[:-1] -= np.linalg.solve(_jacobian(A, B, z, n)[:, :-1], r)
        raise InputError(f"Newton did not converge to the QRE at lambda = {lam:g}")


def _residual(A: np.ndarray, B: np.ndarray, z: np.ndarray, n: int) -> np.ndarray:
    u, w, lam = z[:n], z[n:-1], z[-1]
    x, y = np.exp(u), np.exp(w)
    ay, bx = lam * (A @ y), lam * (B.T @ x)
    return np.concatenate([u - ay + logsumexp(ay), w - bx + logsumexp(bx)])


def _jacobian(A: np.ndarray, B: np.ndarray, z: np.ndarray, n: int) -> np.ndarray:
    """d residual / d (u, w, lambda): (n + m) x (n + m + 1)."""
    u, w, lam = z[:n], z[n:-1], z[-1]
    x, y = np.exp(u), np.exp(w)
    m = len(w)
    ay, bx = A @ y, B.T @ x
    xh, yh = softmax(lam * ay), softmax(lam * bx)
    J = np.zeros((n + m, n + m + 1))
    J[:n, :n] = np.eye(n)
    J[:n, n:n + m] = -lam * (A - xh @ A) * y
    J[:n, -1] = -(ay - xh @ ay)
    J[n:, n:n + m] = np.eye(m)
    J[n:, :n] = -lam * (B.T - yh @ B.T) * x
    J[n:, -1] = -(bx - yh @ bx)
    return J


def _tangent(J: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """The unit null vector of J, oriented along ``previous`` (or with lambda increasing)."""
    t = np.linalg.svd(J)[2][-1]
    ref = previous if previous is not None else np.eye(len(t))[-1]
    return t if t @ ref >= 0 else -t


def trace_logit_qre(A, B, lam_max: float = 1e3, step: float = 0.5, max_step: float | None = None,
                    max_steps: int = 20000) -> QREBranch:
    """Follow the principal logit QRE branch of (A, B) from lambda = 0 to ``lam_max``.

    ``step`` is the first arclength step; it grows by 1.5 after easy corrections (up to
    ``max_step``, default lam_max / 20) and halves when Newton fails.
    """
    start = time.perf_counter()
    A, B = scaled(np.asarray(A, float)), scaled(np.asarray(B, float))
    n, m = A.shape
    if not lam_max > 0:
        raise InputError(f"lam_max must be > 0, got {lam_max}")
    max_step = lam_max / 20 if max_step is None else max_step
    z = np.concatenate([np.full(n, -np.log(n)), np.full(m, -np.log(m)), [0.0]])
    t = _tangent(_jacobian(A, B, z, n), None)
    points, h, steps = [z.copy()], step, 0
    while z[-1] < lam_max and steps < max_steps:
        steps += 1
        guess = z + h * t
        ok, new = _correct(A, B, guess, t, n)
        if not ok or new[-1] < 0:
            h *= 0.5
            if h < 1e-12:
                break
            continue
        t = _tangent(_jacobian(A, B, new, n), t)
        z = new
        points.append(z.copy())
        h = min(h * 1.5, max_step)
    zs = np.array(points)
    branch = QREBranch(zs[:, -1], np.exp(zs[:, :n]), np.exp(zs[:, n:-1]),
                       "pseudo-arclength continuation of the logit QRE equations in log-probabilities "
                       f"(Newton tol {NEWTON_TOL:g}); payoffs scaled to max |payoff| = 1",
                       steps, time.perf_counter() - start)
    if z[-1] < lam_max:
        branch.notes.append(f"stopped at lambda = {z[-1]:g} before {lam_max:g}")
    return branch


def _correct(A, B, guess: np.ndarray, t: np.ndarray, n: int) -> tuple[bool, np.ndarray]:
    """Newton on H(z) = 0 and t . (z - guess) = 0."""
    z = guess.copy()
    for _ in range(MAX_NEWTON):
        r = np.append(_residual(A, B, z, n), t @ (z - guess))
        if not np.all(np.isfinite(r)):
            return False, z
        if np.max(np.abs(r)) < NEWTON_TOL:
            return True, z
        J = np.vstack([_jacobian(A, B, z, n), t])
        try:
            z = z - np.linalg.solve(J, r)
        except np.linalg.LinAlgError:
            return False, z
    r = _residual(A, B, z, n)
    return bool(np.max(np.abs(r)) < NEWTON_TOL), z


def logit_response_gap(A, B, x: np.ndarray, y: np.ndarray, lam: float) -> float:
    """How far (x, y) is from the logit QRE at ``lam`` (max abs. difference of the strategies)."""
    A, B = scaled(np.asarray(A, float)), scaled(np.asarray(B, float))
    return float(max(np.max(np.abs(x - softmax(lam * (A @ y)))), np.max(np.abs(y - softmax(lam * (B.T @ x))))))
