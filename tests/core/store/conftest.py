from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.store import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(tmp_path / "library.db") as database:
        yield database


@pytest.fixture
def coll(db: Database) -> int:
    return db.create_collection("Docs")
