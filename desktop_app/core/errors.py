"""Errors the core raises with a message a person can act on.

Every ``KuraError`` carries a ``code`` besides its English message: the command line
prints the message, the window shows the text it keeps under ``error.<code>`` in the
user's language. A subclass's code is its class name in snake_case without a trailing
``_error`` (``DownloadError`` → ``download``), unless the class sets ``code`` itself; a
new subclass therefore needs one entry per language in ``desktop_app/gui/strings.py``
(a test lists any that is missing).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


class KuraError(Exception):
    """Base class: the message is meant for the user, not a traceback."""

    code: ClassVar[str] = "general"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = _code_of(cls.__name__)


def _code_of(class_name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
    return snake.removesuffix("_error")


class ModelFileError(KuraError):
    """A model file is missing, truncated or not what it claims to be."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
