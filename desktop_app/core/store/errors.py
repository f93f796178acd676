"""Errors raised by the library store, each with a message a person can act on."""

from __future__ import annotations

from desktop_app.core.errors import KuraError


class StoreError(KuraError):
    """Something about the library database is wrong or was asked of it wrongly."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer Kura; touching it could damage it."""


class CollectionExistsError(StoreError):
    """A collection with that name already exists."""


class NotFoundError(StoreError):
    """A collection or document id does not (or no longer) exist."""


class VectorMismatchError(StoreError):
    """Vectors from another model or with another length than those already stored."""
