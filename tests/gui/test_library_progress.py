"""The progress line of a library job that reads and embeds at once.

The core's ``add`` interleaves "scan" steps (a file read and stored) with "embed" steps
(a batch of passages embedded): the line shows both side by side instead of
flickering from one to the other, with the reading's bar until every file is read.
"""

from __future__ import annotations

from desktop_app.core.preferences import Preferences
from desktop_app.core.progress import Progress
from desktop_app.gui.jobs import progress_view
from desktop_app.gui.library_controller import IndexingState, LibraryController
from desktop_app.gui.strings import tr


def shown_for(controller: LibraryController, name: str,
              steps: list[Progress]) -> list[IndexingState]:
    states: list[IndexingState] = []
    controller.indexing_changed.connect(states.append)
    for step in steps:
        controller.lane.progressed.emit(name, step)
    controller.indexing_changed.disconnect(states.append)
    return states


def test_reading_and_embedding_share_one_line() -> None:
    controller = LibraryController(Preferences())
    walking = Progress("scan", 3, None, message="new")
    embedding = Progress("embed", 8, 40, rate=2.0, eta=16.0)
    read = Progress("scan", 4, 10, message="new")
    all_read = Progress("scan", 10, 10, message="new")
    later = Progress("embed", 12, 40, rate=2.0, eta=14.0)
    states = shown_for(controller, "add", [walking, embedding, read, all_read, later])
    both = tr("index.both", scan=tr("index.scan_so_far", done=3),
              embed=progress_view(embedding).text)
    assert [(s.text, s.fraction) for s in states] == [
        (tr("index.scan_so_far", done=3), None),  # nothing embedded yet
        (both, None),  # how many files the walk holds is not known yet
        (tr("index.both", scan=tr("index.scan", done=4, total=10),
            embed=progress_view(embedding).text), 0.4),
        (progress_view(all_read).text, 1.0),  # every file read: the embedding alone
        (progress_view(later).text, 0.3),
    ]
    assert "Reading files: 3 so far · Indexing passages: 8 of 40" in both


def test_the_next_job_starts_a_fresh_line() -> None:
    controller = LibraryController(Preferences())
    shown_for(controller, "add", [Progress("scan", 1, None, message="new"),
                                  Progress("embed", 2, 9)])
    controller.lane.finished.emit("add", True)
    [state] = shown_for(controller, "sync", [Progress("embed", 3, 9)])
    assert state.text == progress_view(Progress("embed", 3, 9)).text


def test_the_window_says_whom_it_waits_for_and_opens_when_the_lock_is_free(
        qtbot, tmp_path) -> None:
    from desktop_app.core.library_lock import LibraryLock

    held = LibraryLock(tmp_path, "kura add")
    held.acquire(wait=False)
    controller = LibraryController(Preferences())
    states: list[IndexingState] = []
    controller.indexing_changed.connect(states.append)
    try:
        with qtbot.waitSignal(controller.indexing_changed, timeout=20_000):
            controller.open(tmp_path)
        assert "kura add" in states[0].text
        assert states[0].text.startswith(tr("index.waiting_for_lock", holder="")[:10])
        assert controller.library is None  # still waiting
    finally:
        held.release()
    with qtbot.waitSignal(controller.opened, timeout=20_000):
        pass
    assert controller.library is not None
    assert states[-1].text == ""  # the waiting line is gone
    controller.library.close()
