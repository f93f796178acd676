"""The Qt binding itself: what Kura relies on when workers signal the GUI thread.

PySide6 6.12.0 lost a reference to every None/True/False emitted through a
``Signal(object)`` from a worker thread; a few thousand emits later Python aborted
("deallocating None"). superqt's workers emit None whenever a job returns nothing, so Kura
pins PySide6 below 6.12. This test fails (or aborts) on such a binding.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from pytestqt.qtbot import QtBot

EMITS = 3000


class _Emitter(QObject):
    value = Signal(object)


def test_emitting_singletons_from_worker_threads_keeps_their_refcounts(qtbot: QtBot) -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.value.connect(received.append)

    class Emit(QRunnable):
        def run(self) -> None:
            for n in range(EMITS):
                emitter.value.emit((None, True, False)[n % 3])

    before = [sys.getrefcount(x) for x in (None, True, False)]
    QThreadPool.globalInstance().start(Emit())
    qtbot.waitUntil(lambda: len(received) == EMITS, timeout=10_000)
    received.clear()
    after = [sys.getrefcount(x) for x in (None, True, False)]
    # Other threads may hold a few references at any moment; a lost reference per
    # emit would show as about -1,000 each.
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (before, after)
