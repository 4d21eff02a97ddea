"""Score profiles of a block of buyers, coarsened to cells of their quantiles, with exact masses and
conditional means (used by the equilibrium among intermediaries, Section 3 of
intermediary-proof-mechanisms).

The b buyers' quantiles u_i = F(v_i) are iid U(0, 1). Cut [0, 1] at edges e_0 = 0 < ... < e_B = 1;
a cell is the non-increasing tuple of the bins holding the sorted quantiles. Its mass is the
multinomial b! / prod_a mu_a! prod_a (e_{a+1} - e_a)^{mu_a} (mu_a buyers in bin a). Given the cell,
the buyers in one bin are mu iid uniforms on it, so the l-th highest of them is
e_a + (e_{a+1} - e_a) B with B ~ Beta(mu - l + 1, l), and the conditional mean of any function g of
its quantile is E[g(e_a + (e_{a+1} - e_a) B)], integrated by Gauss-Jacobi (exact for polynomial g:
uniform values, and the linear virtual values of a uniform law).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from scipy.special import roots_jacobi

NODES = 24


class Cells:
    """The cells of ``size`` sorted quantiles on the bins cut at ``edges`` (module doc)."""

    def __init__(self, edges, size: int):
        self.edges = np.asarray(edges, float)
        if self.edges[0] != 0.0 or self.edges[-1] != 1.0 or np.any(np.diff(self.edges) <= 0):
            raise ValueError(f"cell edges must rise strictly from 0 to 1, got {self.edges}")
        self.size = size
        bins = len(self.edges) - 1
        self.bins = np.array(list(itertools.combinations_with_replacement(range(bins - 1, -1, -1), size)),
                             int).reshape(-1, size)
        same = self.bins[:, 1:] == self.bins[:, :-1]
        self.rank = np.ones(self.bins.shape, int)        # l: 1 for the highest of its bin
        for j in range(1, size):
            self.rank[:, j] = np.where(same[:, j - 1], self.rank[:, j - 1] + 1, 1)
        self.count = self.rank.copy()                     # mu: buyers sharing its bin
        for j in range(size - 2, -1, -1):
            self.count[:, j] = np.where(same[:, j], self.count[:, j + 1], self.count[:, j])
        width = np.diff(self.edges)
        self.mass = math.factorial(size) / np.prod(self.rank, axis=1) * np.prod(width[self.bins], axis=1)
        codes = self.bins @ (bins ** np.arange(size - 1, -1, -1))
        self._order = np.argsort(codes)
        self._codes = codes[self._order]

    def means(self, g: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """cells x size: E[g(u_(j)) | cell] for the j-th highest quantile (module doc)."""
        lo, width = self.edges[:-1], np.diff(self.edges)
        out = np.empty(self.bins.shape)
        for mu, ell in {(int(m), int(r)) for m, r in zip(self.count.ravel(), self.rank.ravel())}:
            x, w = roots_jacobi(NODES, ell - 1.0, mu - ell)  # Beta(mu - ell + 1, ell) on t = (1 + x) / 2
            t = 0.5 * (1.0 + x)
            table = g(lo[:, None] + width[:, None] * t[None, :]) @ (w / w.sum())
            hit = (self.count == mu) & (self.rank == ell)
            out[hit] = table[self.bins[hit]]
        return out

    def locate(self, quantiles: np.ndarray) -> np.ndarray:
        """The cell of each row of quantiles (rows x size, any order)."""
        u = -np.sort(-np.atleast_2d(quantiles), axis=1)
        b = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, len(self.edges) - 2)
        codes = b @ ((len(self.edges) - 1) ** np.arange(self.size - 1, -1, -1))
        return self._order[np.searchsorted(self._codes, codes)]
