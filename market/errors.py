"""Errors that mean "the input is wrong": the command line turns them into one line and exit 2."""


class InputError(ValueError):
    """Base class of every error caused by what a user asked for."""
