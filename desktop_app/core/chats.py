"""Chat history: one conversation per JSON file in ``<data dir>/chats``.

A file per chat keeps a damaged file from costing the others: ``list`` skips what it
cannot read (and leaves it on disk, so nothing is lost that a person could still rescue),
and every save replaces a whole file atomically, so a crash leaves the old version or the
new one, never half of each. Ids are uuid4 hex and checked as such before they become a
file name, so a crafted id cannot point outside the folder.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from desktop_app.core.errors import KuraError
from desktop_app.core.fileio import write_atomically
from desktop_app.core.paths import data_dir

SCHEMA_VERSION = 1
TITLE_CHARS = 60
SNIPPET_CHARS = 240  # a source's snippet in the Markdown export
_CHAT_ID = re.compile(r"^[0-9a-f]{32}$")
_STALE_TEMP_S = 3600  # a temp file this old is a crash's leftover, not a save in flight

Role = Literal["user", "assistant"]


class ChatNotFound(KuraError, KeyError):
    """No chat with this id (or the id is not one Kura would have made)."""

    def __str__(self) -> str:
        return Exception.__str__(self)  # KeyError would quote the message


class DamagedChat(KuraError):
    """The chat's file exists but cannot be read back."""


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    text: str
    created_at: float  # unix seconds
    sources: tuple[dict[str, Any], ...] = ()  # Source.as_dict() of the cited passages
    passages: tuple[dict[str, Any], ...] = ()  # every passage given to the model
    declined: bool = False
    cancelled: bool = False
    collections: tuple[str, ...] = ()  # what was searched
    extract: tuple[dict[str, Any], ...] = ()  # the passages' best sentences, shown first
    checks: tuple[dict[str, Any], ...] = ()  # SentenceCheck.as_dict() of each sentence
    written_by: str = ""  # which machine wrote the answer ("" before it was recorded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "text": self.text,
            "created_at": self.created_at,
            "sources": [dict(s) for s in self.sources],
            "passages": [dict(p) for p in self.passages],
            "declined": self.declined,
            "cancelled": self.cancelled,
            "collections": list(self.collections),
            "extract": [dict(e) for e in self.extract],
            "checks": [dict(c) for c in self.checks],
            "written_by": self.written_by,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        """Raise ValueError on data that is not a message. Source dicts pass through
        whole: newer fields (chunk ids, offsets) survive a round trip."""
        role = data.get("role")
        if role not in ("user", "assistant"):
            raise ValueError(f"not a message role: {role!r}")
        return cls(
            role=role,
            text=_string(data.get("text", "")),
            created_at=float(data.get("created_at", 0.0)),
            sources=_dicts(data.get("sources", ())),
            passages=_dicts(data.get("passages", ())),
            declined=bool(data.get("declined", False)),
            cancelled=bool(data.get("cancelled", False)),
            collections=tuple(_string(c) for c in data.get("collections", ())),
            extract=_dicts(data.get("extract", ())),
            checks=_dicts(data.get("checks", ())),
            written_by=_string(data.get("written_by", "")),
        )


@dataclass(frozen=True)
class Chat:
    id: str  # uuid4 hex
    title: str
    created_at: float
    updated_at: float
    messages: tuple[ChatMessage, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "messages": [m.as_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chat:
        if not isinstance(data, dict):
            raise ValueError("not a chat")
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"unknown chat file version {data.get('version')!r}")
        messages = data.get("messages", [])
        if not isinstance(messages, list):
            raise ValueError("messages is not a list")
        return cls(
            id=_string(data["id"]),
            title=_string(data.get("title", "")),
            created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]),
            messages=tuple(ChatMessage.from_dict(m) for m in messages),
        )


def title_from_question(question: str) -> str:
    """The question's first non-empty line, cut to TITLE_CHARS with an ellipsis."""
    line = next((ln.strip() for ln in question.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    if len(line) <= TITLE_CHARS:
        return line
    return line[: TITLE_CHARS - 1].rstrip() + "…"


class ChatStore:
    """Chats on disk. Safe to share between threads; assumes one Kura process per data
    dir (as the rest of the data dir does)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else data_dir() / "chats"
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix":
            self.folder.chmod(0o700)  # chats quote private documents
        # append/rename read, change and write a file: one at a time, or one is lost.
        self._lock = threading.Lock()
        self._remove_stale_temps()

    def list(self) -> builtins.list[Chat]:
        """Every readable chat, most recently updated first."""
        chats = []
        for path in self.folder.glob("*.json"):
            if not _CHAT_ID.match(path.stem):
                continue
            try:
                chats.append(self._read(path))
            except DamagedChat:
                continue  # kept on disk: a person may still rescue it
        chats.sort(key=lambda c: (c.updated_at, c.created_at), reverse=True)
        return chats

    def create(self, title: str = "") -> Chat:
        now = time.time()
        chat = Chat(id=uuid.uuid4().hex, title=_one_line(title), created_at=now,
                    updated_at=now)
        with self._lock:
            self._write(chat)
        return chat

    def get(self, chat_id: str) -> Chat:
        return self._read(self._path(chat_id))

    def append(self, chat_id: str, message: ChatMessage) -> Chat:
        """Add ``message``; an untitled chat is named after its first question."""
        with self._lock:
            chat = self.get(chat_id)
            title = chat.title
            if not title and message.role == "user":
                title = title_from_question(message.text)
            chat = replace(chat, title=title, messages=(*chat.messages, message),
                           updated_at=max(time.time(), chat.updated_at))
            self._write(chat)
        return chat

    def rename(self, chat_id: str, title: str) -> Chat:
        with self._lock:
            chat = replace(self.get(chat_id), title=_one_line(title),
                           updated_at=time.time())
            self._write(chat)
        return chat

    def delete(self, chat_id: str) -> None:
        path = self._path(chat_id)
        with self._lock:
            try:
                path.unlink()
            except FileNotFoundError:
                raise ChatNotFound(f"no chat {chat_id}") from None

    def export_markdown(self, chat_id: str) -> str:
        return chat_markdown(self.get(chat_id))

    def _path(self, chat_id: str) -> Path:
        if not isinstance(chat_id, str) or not _CHAT_ID.match(chat_id):
            raise ChatNotFound(f"no chat {chat_id!r}")
        return self.folder / f"{chat_id}.json"

    def _read(self, path: Path) -> Chat:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ChatNotFound(f"no chat {path.stem}") from None
        except OSError as exc:
            raise DamagedChat(f"the chat {path.stem} cannot be read: {exc}") from exc
        try:
            chat = Chat.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise DamagedChat(f"the chat file {path.name} is damaged: {exc}") from exc
        if chat.id != path.stem:
            raise DamagedChat(f"the chat file {path.name} holds chat {chat.id}")
        return chat

    def _write(self, chat: Chat) -> None:
        data = json.dumps(chat.as_dict(), ensure_ascii=False, indent=1)
        write_atomically(self._path(chat.id), data.encode("utf-8"))

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - _STALE_TEMP_S
        for tmp in self.folder.glob("*.json.*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except OSError:
                pass  # another process's save, or already gone


def chat_markdown(chat: Chat) -> str:
    """The chat as Markdown: questions, answers, and each answer's sources."""
    lines = [f"# {chat.title or 'Chat'}", ""]
    for message in chat.messages:
        if message.role == "user":
            lines += [f"**Q:** {message.text.strip()}", ""]
            continue
        if message.text.strip():
            lines += [message.text.strip(), ""]
        if message.declined:
            where = ", ".join(message.collections) or "your documents"
            lines += [f"> _Kura did not find this in: {where}_", ""]
        if message.cancelled:
            lines += ["> _The answer was stopped._", ""]
        if message.sources:
            lines += ["Sources:", ""]
            lines += [_source_line(source) for source in message.sources]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _source_line(source: dict[str, Any]) -> str:
    parts = [f"[{source.get('number', '?')}] {source.get('path', '')}"]
    if source.get("location"):
        parts.append(str(source["location"]))
    snippet = " ".join(str(source.get("snippet") or "").split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rstrip() + "…"
    if snippet:
        parts.append(f"> {snippet}")
    return "- " + " — ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value


def _dicts(values: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, dict) for v in values):
        raise ValueError("sources/passages must be a list of objects")
    return tuple(dict(v) for v in values)
