"""Errors the core raises with a message a person can act on."""

from __future__ import annotations


class KuraError(Exception):
    """Base class: the message is meant for the user, not a traceback."""


class ModelFileError(KuraError):
    """A model file is missing, truncated or not what it claims to be."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
