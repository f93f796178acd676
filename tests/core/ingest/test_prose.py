"""Prose or data: real writing and ordinary code stay, machine-made runs are left out."""

from __future__ import annotations

import base64
import itertools
import random
import string
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from desktop_app.core.ingest import parse
from desktop_app.core.ingest.prose import NotProse, judge, piece_end, prose_spans
from desktop_app.core.library import Library
from desktop_app.core.progress import run_quietly
from tests.support.documents import CHINESE_SIMPLIFIED, CHINESE_TRADITIONAL, JAPANESE, WESTERN
from tests.support.samples import CORP_KB, REPO
from tests.support.text_embedders import HashedWords


def kept(text: str) -> int:
    return sum(end - start for start, end in prose_spans(text))


def noise(kind: str, n: int = 20_000, seed: int = 0) -> str:
    rng = random.Random(seed)
    if kind == "random letters":
        return "".join(rng.choices(string.ascii_letters, k=n))
    if kind == "random lowercase":
        return "".join(rng.choices(string.ascii_lowercase, k=n))
    if kind == "random printable":  # with spaces and line breaks among them
        return "".join(rng.choices(string.printable, k=n))
    if kind == "random characters and spaces":
        return "".join(rng.choices(string.ascii_letters + string.digits + "     ", k=n))
    if kind == "random unicode":
        return "".join(chr(rng.randint(0x20, 0xD7FF)) for _ in range(n))
    if kind == "base64":
        return base64.b64encode(rng.randbytes(n)).decode()[:n]
    if kind == "base64 in lines":  # as in e-mail and PEM files
        blob = base64.b64encode(rng.randbytes(n)).decode()[:n]
        return "\n".join(blob[i:i + 76] for i in range(0, len(blob), 76))
    if kind == "hex":
        return rng.randbytes(n // 2).hex()
    if kind == "hex dump":
        return "\n".join(f"{i * 16:08x}  " + " ".join(rng.randbytes(2).hex() for _ in range(8))
                         for i in range(n // 48))
    if kind == "uuids":
        return "\n".join(str(uuid.UUID(bytes=rng.randbytes(16))) for _ in range(n // 37))
    if kind == "minified javascript":
        parts = [f"function f{i}(a,b){{var c=a.map(function(d){{return d*{i}+b}});"
                 f"if(c.length>{i % 7}){{return c.join(\",\")}}return null}};" for i in range(n)]
        return "".join(parts)[:n]
    if kind == "minified css":
        rules = [f".c{i}{{margin:{i % 9}px;color:#{rng.randbytes(3).hex()};display:flex}}"
                 for i in range(n)]
        return "".join(rules)[:n]
    raise AssertionError(kind)


NOISE = ["random letters", "random lowercase", "random printable",
         "random characters and spaces", "random unicode", "base64", "base64 in lines",
         "hex", "hex dump", "uuids", "minified javascript", "minified css"]


@pytest.mark.parametrize("kind", NOISE)
def test_machine_made_text_is_not_prose(kind: str) -> None:
    text = noise(kind)
    dropped: Counter[NotProse] = Counter()
    assert prose_spans(text, dropped=dropped) == []
    assert dropped.total() == len(text)


@pytest.mark.skipif(not CORP_KB.is_dir(), reason="the shared fixture knowledge base is absent")
def test_the_chinese_knowledge_base_is_all_prose() -> None:
    files = sorted(CORP_KB.rglob("*.md"))
    assert len(files) == 8
    for path in files:
        for section in parse(path).sections:
            assert prose_spans(section.text) == [(0, len(section.text))], path


@pytest.mark.parametrize("text", [CHINESE_SIMPLIFIED, CHINESE_TRADITIONAL, JAPANESE, WESTERN])
def test_writing_in_any_script_is_prose(text: str) -> None:
    long = "\n".join([text] * 40)
    assert kept(long) == len(long)
    # Chinese with no punctuation at all has no spaces either, and is still prose.
    bare = "".join(ch for ch in long if "\u4e00" <= ch <= "\u9fff") * 3
    if bare:
        assert kept(bare) == len(bare)


def test_the_projects_own_source_code_is_prose() -> None:
    """Kura indexes source code: ordinary code with normal lines must stay, whatever its
    long identifiers, regular expressions and string tables."""
    files = sorted((REPO / "desktop_app").rglob("*.py")) + sorted((REPO / "tests").rglob("*.py"))
    assert len(files) > 100
    lost = {path.name: len(text) - kept(text)
            for path in files if (text := path.read_text(encoding="utf-8"))}
    assert {name: n for name, n in lost.items() if n} == {}


JAVASCRIPT = """\
import { readFile } from "node:fs/promises";

/** Load the settings, falling back to the defaults when the file is missing. */
export async function loadSettings(path, defaults = {}) {
  try {
    const text = await readFile(path, "utf8");
    return { ...defaults, ...JSON.parse(text) };
  } catch (error) {
    if (error.code === "ENOENT") return { ...defaults };
    throw new Error(`Cannot read ${path}: ${error.message}`);
  }
}
"""
CSS = """\
.sidebar { width: 16rem; padding: 0.5rem 1rem; border-right: 1px solid #ddd; }
.sidebar a:hover, .sidebar a:focus-visible { color: var(--accent, #0b57d0); }
@media (max-width: 640px) { .sidebar { display: none; } }
"""


@pytest.mark.parametrize("code", [JAVASCRIPT, CSS])
def test_formatted_web_code_is_prose(code: str) -> None:
    text = code * 30
    assert kept(text) == len(text)


def test_a_blob_is_dropped_and_the_paragraphs_around_it_stay() -> None:
    """A Markdown page with an image pasted as a data URI (as pandoc writes them)."""
    intro = "SQLite supports an UPSERT clause on INSERT statements. " * 8
    outro = "The conflict target names the unique index that triggers the update. " * 8
    blob = "![](data:image/svg+xml;base64," + noise("base64", 50_000) + ")"
    text = f"# Upsert\n\n{intro}\n\n{blob}\n\n{outro}\n"
    spans = prose_spans(text)
    kept_text = "".join(text[start:end] for start, end in spans)
    assert intro in kept_text and outro in kept_text
    assert "base64," not in kept_text
    assert len(kept_text) < 3_000


def test_a_log_line_does_not_take_its_paragraph_with_it() -> None:
    paragraph = ("All the elements collected during the analysis should fit together like "
                 "pieces in a jigsaw puzzle. The following log is an extract:\n")
    log_line = "GET /viewtopic.php?highlight=" + noise("hex", 1_200) + "\n"
    text = paragraph * 5 + log_line
    kept_text = "".join(text[s:e] for s, e in prose_spans(text))
    assert kept_text == paragraph * 5


def test_a_huge_document_keeps_its_offsets() -> None:
    parts = ["An ordinary paragraph about travel policy. " * 30 + "\n\n", noise("base64", 9_000),
             "\n\n", "Another paragraph about holidays and leave. " * 30]
    text = "".join(parts)
    spans = prose_spans(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(text[s:e].strip() for s, e in spans)
    assert "".join(text[s:e] for s, e in spans).count("ordinary paragraph") == 30


def test_pieces_cover_the_text_and_keep_lines_whole() -> None:
    rng = random.Random(4)
    lines = ["x" * rng.choice([0, 3, 40, 300, 5_000, 9_000]) for _ in range(400)]
    text = "\n".join(lines)
    cuts = [0]
    while cuts[-1] < len(text):
        cuts.append(piece_end(text, cuts[-1], len(text)))
    pieces = [text[a:b] for a, b in itertools.pairwise(cuts)]
    assert "".join(pieces) == text
    assert max(map(len, pieces)) <= 3 * 2048 // 2
    for piece in pieces:
        if len(piece) < 2048 and "\n" in piece.rstrip("\n"):
            # several lines in one piece: only whole lines, no part of a long one
            assert all(len(line) <= 2048 for line in piece.split("\n"))


def test_judging_is_linear_in_the_length() -> None:
    def best(text: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            prose_spans(text)
            times.append(time.perf_counter() - start)
        return min(times)

    for kind in ("random letters", "minified javascript"):
        small, large = noise(kind, 200_000), noise(kind, 800_000, seed=1)
        assert best(large) / best(small) < 6, kind
    prose = ("Every employee gets fifteen days of paid leave a year. " * 4 + "\n") * 1_000
    assert best(prose * 4) / best(prose) < 6


def test_short_text_is_given_the_benefit_of_the_doubt() -> None:
    assert judge("Call Anna at 10:30 about the Q3 report (room B12).") is None
    assert judge("x = f(a1, b2)  # TODO") is None
    assert judge("aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCB0ZXh0IGhlcmU=") is not None


def test_a_random_file_beside_notes_is_skipped_without_embedding(tmp_path: Path) -> None:
    """The issue's case: a 2 MB line of random characters beside three short notes. The
    notes are indexed; the random file is skipped as not prose, with nothing of it
    chunked or embedded."""
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, body in [("trip.md", "The train to Lyon leaves at nine."),
                       ("leave.txt", "Annual leave is fifteen days a year."),
                       ("wifi.md", "The guest wifi password is on the fridge.")]:
        (folder / name).write_text(f"# {Path(name).stem}\n\n{body}\n", encoding="utf-8")
    rng = random.Random(13)
    alphabet = string.ascii_letters + string.digits + string.punctuation + "  "
    (folder / "dump.txt").write_text("".join(rng.choices(alphabet, k=2_000_000)),
                                     encoding="utf-8")
    library = Library(home=tmp_path / "home", embedder=HashedWords())
    try:
        run_quietly(library.add([folder]))
        status = library.status()
        assert status.documents.get("embedded") == 3
        [skipped] = status.skipped
        assert Path(skipped.path).name == "dump.txt" and skipped.reason == "not_prose"
        assert skipped.message == ("The file holds no readable text, only encoded or "
                                   "machine-made data.")
        assert status.chunks == 3  # one per note: not a single chunk of the random file
        assert status.vectors == 3 and status.unembedded_keys == 0
    finally:
        library.close()
