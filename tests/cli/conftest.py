"""Fixtures for the ``kura`` commands (``gguf_270m`` and ``kb_library``, for ``kura
ask``/``chat``, are shared with the answer tests in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from desktop_app.core.library import Library


@pytest.fixture
def closed_libraries(monkeypatch: pytest.MonkeyPatch) -> list[Library]:
    """Every library closed during the test, in order."""
    closed: list[Library] = []
    real_close = Library.close

    def close(self: Library) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(Library, "close", close)
    return closed
