"""Nature: the adversary who picks the value profile each round (thesis, Remarks 2.2.1 and (3.4))."""

from __future__ import annotations

import mesa
import numpy as np


class Nature(mesa.Agent):
    """Draws this round's value profile from a generator of :mod:`agora.market.robust.adversaries`."""

    def __init__(self, model: mesa.Model, generator):
        super().__init__(model)
        self.generator = generator
        self.profile: np.ndarray | None = None

    def draw(self) -> np.ndarray:
        self.profile = self.generator.sample(self.model.rng, 1)[0]
        return self.profile
