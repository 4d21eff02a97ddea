"""The world every Agora simulation runs in: one round of a protocol per step, every message logged."""

from __future__ import annotations

import mesa

from agora.models.round_collector import RoundCollector


class RoundModel(mesa.Model):
    """A ``mesa.Model`` whose ``step`` plays one round of ``self.protocol``.

    Subclasses set ``protocol``, ``round`` (0 at the start), ``last`` and a ``datacollector``
    with a ``"messages"`` table (columns ``agora.protocols.messages.LOG_COLUMNS``); a
    :class:`~agora.models.round_collector.RoundCollector` logs the messages itself, from the outcome.
    """

    def step(self) -> None:
        self.last = self.protocol.play_round(self)
        self.round += 1
        self.datacollector.collect(self)
        if not isinstance(self.datacollector, RoundCollector):
            for message in self.last.messages:
                self.datacollector.add_table_row("messages", message.log_row())

    def message_log(self):
        """Every message of every round so far, as a DataFrame (columns ``LOG_COLUMNS``)."""
        return self.datacollector.get_table_dataframe("messages")

    def rounds(self):
        """The per-round series (the model reporters) as a DataFrame."""
        return self.datacollector.get_model_vars_dataframe()
