"""How every ``kura`` command reports a problem the user can act on: one line on stderr,
no traceback, exit code 2 ("could not run"). Its own module so command modules can share
it without importing each other."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from desktop_app.core.errors import KuraError


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KuraError as exc:
            click.echo(f"kura: {exc}", err=True)
            sys.exit(2)

    return wrapper
