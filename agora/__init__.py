"""Agora: markets with intermediaries, committees and robust sellers."""

__version__ = "0.1.0"
