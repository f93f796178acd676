"""Chat history on disk: one atomic JSON file per chat."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from desktop_app.core import chats
from desktop_app.core.chats import Chat, ChatMessage, ChatNotFound, ChatStore
from desktop_app.core.errors import KuraError
from desktop_app.core.paths import data_dir

SOURCE = {
    "number": 1, "path": "/docs/handbook.pdf", "collection": "Work", "title": "Handbook",
    "location": "page 2", "page": 2, "snippet": "Staff get  fifteen\ndays of leave.",
    "score": 0.8, "relevance": 0.9, "truncated": False,
    "chunk_id": 42, "start_char": 10, "end_char": 60,  # newer keys pass through
}


def question(text: str, at: float = 1.0) -> ChatMessage:
    return ChatMessage(role="user", text=text, created_at=at)


def answer(text: str, **kwargs) -> ChatMessage:
    return ChatMessage(role="assistant", text=text, created_at=2.0, **kwargs)


@pytest.fixture
def store() -> ChatStore:
    return ChatStore()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.time() as the store sees it, advanced by hand."""
    now = [1000.0]
    monkeypatch.setattr(chats.time, "time", lambda: now[0])
    return now


def test_default_folder_is_private_and_inside_the_data_dir(store: ChatStore) -> None:
    assert store.folder == data_dir() / "chats"
    if os.name == "posix":
        assert store.folder.stat().st_mode & 0o777 == 0o700


def test_a_chat_round_trips_through_its_file(store: ChatStore) -> None:
    chat = store.create()
    store.append(chat.id, question("How many days of leave?"))
    reply = answer("Fifteen days [1].", sources=(SOURCE,), passages=(SOURCE,),
                   collections=("Work",))
    store.append(chat.id, reply)

    stored = json.loads((store.folder / f"{chat.id}.json").read_text("utf-8"))
    assert stored["version"] == 1
    loaded = ChatStore(store.folder).get(chat.id)
    assert loaded.messages[1] == reply
    assert loaded.messages[1].sources[0]["chunk_id"] == 42


def test_first_question_names_the_chat(store: ChatStore) -> None:
    chat = store.create()
    store.append(chat.id, answer("Hello."))  # not a question: no title yet
    assert store.get(chat.id).title == ""
    long = "\n  Why " + "is the sky blue " * 10 + "?\nsecond line"
    titled = store.append(chat.id, question(long))
    assert len(titled.title) <= 60 and titled.title.endswith("…")
    assert "second line" not in titled.title
    assert titled.title.startswith("Why is the sky blue")
    assert store.append(chat.id, question("Another question")).title == titled.title


def test_a_given_title_is_kept_and_rename_changes_it(store: ChatStore) -> None:
    chat = store.create("Leave policy")
    assert store.append(chat.id, question("How many days?")).title == "Leave policy"
    assert store.rename(chat.id, "  Holidays\n2024 ").title == "Holidays 2024"
    assert store.get(chat.id).title == "Holidays 2024"


def test_list_puts_the_latest_updated_chat_first(store: ChatStore, clock: list[float]) -> None:
    old = store.create("old")
    clock[0] += 10
    new = store.create("new")
    assert [c.id for c in store.list()] == [new.id, old.id]
    clock[0] += 10
    store.append(old.id, question("again"))
    assert [c.id for c in store.list()] == [old.id, new.id]


def test_a_damaged_file_is_skipped_and_kept(store: ChatStore) -> None:
    good = store.create("good")
    damaged = store.create("damaged")
    path = store.folder / f"{damaged.id}.json"
    path.write_text('{"version": 1, "id": "', "utf-8")  # half a file
    assert [c.id for c in store.list()] == [good.id]
    assert path.exists()
    with pytest.raises(KuraError):
        store.get(damaged.id)


def test_a_file_from_a_newer_kura_is_not_misread(store: ChatStore) -> None:
    chat = store.create("x")
    path = store.folder / f"{chat.id}.json"
    data = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps({**data, "version": 2}), "utf-8")
    assert store.list() == []


@pytest.mark.parametrize("bad_id", ["../../settings", "ABCDEF", "", "a" * 31, "g" * 32])
def test_ids_that_are_not_ours_are_not_found(store: ChatStore, bad_id: str) -> None:
    with pytest.raises(ChatNotFound) as caught:
        store.get(bad_id)
    assert isinstance(caught.value, KuraError) and isinstance(caught.value, KeyError)
    with pytest.raises(ChatNotFound):
        store.append(bad_id, question("x"))
    assert not (store.folder.parent / "settings.json").exists()


def test_delete_removes_the_chat(store: ChatStore) -> None:
    chat = store.create()
    store.delete(chat.id)
    assert store.list() == []
    with pytest.raises(ChatNotFound):
        store.get(chat.id)
    with pytest.raises(ChatNotFound):
        store.delete(chat.id)


def test_a_failed_save_leaves_the_previous_chat_whole(
        store: ChatStore, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = store.create()
    store.append(chat.id, question("first"))

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:  # not .undo(): that would restore KURA_HOME too
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            store.append(chat.id, question("second"))
    assert [m.text for m in store.get(chat.id).messages] == ["first"]
    assert sorted(p.name for p in store.folder.iterdir()) == [f"{chat.id}.json"]


def test_markdown_export(store: ChatStore) -> None:
    chat = store.create("Leave")
    store.append(chat.id, question("How many days of leave?"))
    store.append(chat.id, answer("Fifteen days [1].", sources=(SOURCE,)))
    store.append(chat.id, question("And parking?"))
    store.append(chat.id, answer("I don't know.", declined=True, collections=("Work", "HR")))
    store.append(chat.id, question("Stop?"))
    store.append(chat.id, answer("Half an", cancelled=True))

    text = store.export_markdown(chat.id)
    assert text.startswith("# Leave\n")
    assert "**Q:** How many days of leave?" in text
    assert "Fifteen days [1]." in text
    assert ("[1] /docs/handbook.pdf — page 2 — > Staff get fifteen days of leave."
            in text)  # the snippet on one line
    assert "_Kura did not find this in: Work, HR_" in text
    assert "stopped" in text
    assert text.index("How many days") < text.index("Fifteen") < text.index("And parking")


def test_message_from_dict_rejects_what_is_not_a_message() -> None:
    with pytest.raises(ValueError):
        ChatMessage.from_dict({"role": "system", "text": "x", "created_at": 1})
    with pytest.raises(ValueError):
        Chat.from_dict({"version": 1, "id": "x", "created_at": 1, "updated_at": 1,
                        "messages": "nope"})


def test_store_in_a_given_folder(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere" / "chats"
    store = ChatStore(folder)
    chat = store.create("t")
    assert (folder / f"{chat.id}.json").is_file()


def test_appends_from_many_threads_are_all_kept(store: ChatStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    chat = store.create("busy")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.append(chat.id, question(f"q{i}")), range(40)))
    assert sorted(m.text for m in store.get(chat.id).messages) == sorted(
        f"q{i}" for i in range(40))
