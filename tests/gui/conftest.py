"""Fixtures for the window's tests (pytest-qt).

* Qt draws off screen (``QT_QPA_PLATFORM=offscreen``), also when pytest is run directly.
* No test reaches the network: proxies, ``HF_ENDPOINT`` and ``KURA_LLM_PATH`` are cleared,
  so "no models" is the starting point and a download only ever goes to 127.0.0.1.
* Every test starts and ends in English (``create_window`` sets the language globally),
  and leaves no worker running behind it.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QThreadPool

from desktop_app.core.preferences import Preferences
from desktop_app.gui import strings
from desktop_app.gui.main_window import MainWindow

POOL_DRAIN_MS = 15_000


@pytest.fixture(autouse=True)
def no_network_no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy", "HF_ENDPOINT", "KURA_LLM_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def english(qapp) -> Iterator[None]:
    strings.set_language("en")
    yield
    strings.set_language("en")


@pytest.fixture(autouse=True)
def drain_pool(qapp) -> Iterator[None]:
    """A worker left running would outlive the test's tmp dirs and widgets."""
    yield
    assert QThreadPool.globalInstance().waitForDone(POOL_DRAIN_MS), "a worker never ended"


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[..., MainWindow]]:
    """``make_window(prefs)``: the real window as ``kura-app`` builds it; closed (which
    stops its work and closes the library) at the end of the test."""
    from desktop_app.gui.app import create_window

    windows: list[MainWindow] = []

    def make(prefs: Preferences | None = None) -> MainWindow:
        window = create_window(prefs or Preferences())
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()
