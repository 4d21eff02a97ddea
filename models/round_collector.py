"""A Mesa DataCollector that records a round in constant time and builds its tables when read.

The per-round series of a market are attributes of its :class:`~agora.protocols.base.RoundOutcome`
(immutable), and the message log is that outcome's tuple of messages. So a round is recorded by
keeping the outcome; Mesa's ``model_vars`` and ``tables`` are each filled from the kept outcomes the
first time anything reads them (``get_model_vars_dataframe``, ``get_table_dataframe``, or the
attributes themselves), with the same values, in the same order, as Mesa's own ``collect`` and
``add_table_row`` would have stored; reading the per-round series does not build the message log.
Agent-type reporters are collected eagerly, as Mesa does,
since agents change from round to round (attribute-name reporters read directly, as Mesa's
``getattr(agent, name, None)``, without a function call per value).
"""

from __future__ import annotations

from copy import deepcopy
from operator import attrgetter

import mesa

from agora.protocols.messages import LOG_COLUMNS, log_columns

IMMUTABLE = (str, int, bool, float, tuple)  # stored as they are; anything else deep-copied, as Mesa does


class RoundCollector(mesa.DataCollector):
    """``mesa.DataCollector`` for round models: ``round_reporters`` map a column to an outcome attribute.

    ``model_reporters`` holds the equivalent ``lambda m: m.last.<attribute>`` for Mesa's API; a
    ``"messages"`` table (columns ``LOG_COLUMNS``) holds every message of every round.
    """

    def __init__(self, round_reporters: dict[str, str], agenttype_reporters: dict[type, dict[str, str]] | None = None):
        self._pending_vars: list = []  # outcomes not yet in model_vars
        self._pending_log: list = []  # outcomes whose messages are not yet in the messages table
        self._fields = dict(round_reporters)
        self._agent_fields = {kind: tuple(reps.values()) for kind, reps in (agenttype_reporters or {}).items()}
        if not all(isinstance(a, str) for attrs in self._agent_fields.values() for a in attrs):
            raise TypeError("RoundCollector's agent-type reporters are attribute names")
        super().__init__(
            model_reporters={name: (lambda m, attr=attr: getattr(m.last, attr))
                             for name, attr in self._fields.items()},
            agenttype_reporters=agenttype_reporters,
            tables={"messages": list(LOG_COLUMNS)},
        )

    @property
    def model_vars(self) -> dict:
        self._flush_vars()
        return self._model_vars

    @model_vars.setter
    def model_vars(self, value: dict) -> None:
        self._model_vars = value

    @property
    def tables(self) -> dict:
        self._flush_log()
        return self._tables

    @tables.setter
    def tables(self, value: dict) -> None:
        self._tables = value

    def collect(self, model) -> None:
        """Keep this round's outcome (immutable); collect agent-type reporters now."""
        self._collection_steps.append(model.time)
        self._pending_vars.append(model.last)
        self._pending_log.append(model.last)
        if self._agent_fields:
            self._agenttype_records[model.time] = {
                kind: self._agent_records_of(model, kind, attrs) for kind, attrs in self._agent_fields.items()}

    @staticmethod
    def _agent_records_of(model, kind: type, attrs: tuple[str, ...]) -> list[tuple]:
        """Mesa's agent-type records: (time, id, *values) for the model's agents of ``kind``."""
        if kind in model.agent_types:
            agents = model.agents_by_type[kind]
        else:
            agents = [a for a in model.agents if isinstance(a, kind)]
        time = model.time
        try:
            read = attrgetter("unique_id", *attrs) if attrs else (lambda a: (a.unique_id,))
            records = [(time, *read(a)) for a in agents]
        except AttributeError:  # Mesa reads a missing attribute as None
            records = [(time, a.unique_id, *(getattr(a, name, None) for name in attrs)) for a in agents]
        if all(issubclass(t, IMMUTABLE) for t in {type(v) for r in records for v in r[2:]}):
            return records
        return [r[:2] + tuple(v if isinstance(v, IMMUTABLE) else deepcopy(v) for v in r[2:]) for r in records]

    def _flush_vars(self) -> None:
        """Move the kept outcomes' series into Mesa's columns (outcome values are immutable: no copies)."""
        if not getattr(self, "_pending_vars", None):
            return
        pending, self._pending_vars = self._pending_vars, []
        for name, attr in self._fields.items():
            self._model_vars[name].extend(getattr(out, attr) for out in pending)

    def _flush_log(self) -> None:
        """Move the kept outcomes' messages into the messages table."""
        if not getattr(self, "_pending_log", None):
            return
        pending, self._pending_log = self._pending_log, []
        columns = log_columns([m for out in pending for m in out.messages])
        for column, values in self._tables["messages"].items():
            values.extend(columns[column])
