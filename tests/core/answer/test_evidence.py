"""Evidence: the passages reranked by their best sentence, trimmed to the sentences that
answer, near-duplicates dropped, within a token budget (real embedder, real library)."""

from __future__ import annotations

import shutil

import pytest

from desktop_app.core.answer.evidence import (
    Excerpt,
    extract,
    score_passages,
    select_excerpts,
    split_first,
)
from desktop_app.core.library import Library

HANDBOOK = """# Office handbook

## Arriving

The office opens at 7:30 and the front desk is staffed from 8:00 to 18:00. Visitors sign
in at the front desk and wear a visitor badge at all times. Lost badges are reported to
security the same day. The lifts to floors 10 to 14 need a badge after 19:00.

## Parking

The garage under the building has 40 spaces for staff. Parking spaces must be booked at
least 3 working days in advance through the facilities portal. Electric cars may use the
four charging bays on level B2 for up to four hours. Bicycles go in the racks by the
north entrance, never in the lobby. Motorcycles park in the marked bays on level B1.

## Kitchen

Each floor has a kitchen with a dishwasher, which is started by whoever leaves last.
Food left in the fridges is thrown away every Friday at 15:00. Coffee beans are ordered
by the office manager; tell her when a bag is half empty. The kettles are descaled on
the first Monday of the month.

## Printing

Printers on every floor print from the cloud queue after you tap your badge. Colour
printing needs a cost code from your manager. Paper jams are fixed by the front desk.
"""
QUESTION = "How far ahead do I have to reserve a parking space?"
ANSWER = "booked at least 3 working days in advance"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder) -> Library:
    root = tmp_path_factory.mktemp("evidence")
    docs = root / "docs"
    (docs / "copies").mkdir(parents=True)
    (docs / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    # the same text again as plain text, as a real folder holds it: given once
    (docs / "copies" / "handbook.txt").write_text(HANDBOOK.replace("#", ""), encoding="utf-8")
    shutil.copy(docs / "handbook.md", root / "unused.md")
    library = Library(home=root / "home", embedder=embedder)
    for _ in library.add([docs]):
        pass
    return library


def flat(text: str) -> str:
    return " ".join(text.split())  # the document wraps its lines


def test_the_trimmed_prompt_keeps_the_sentence_that_holds_the_answer(library: Library) -> None:
    results = library.search(QUESTION, k=8).results
    evidence = score_passages(library.embedder, QUESTION, results)
    excerpts = select_excerpts(evidence, library.embedder.count_tokens,  # type: ignore[attr-defined]
                               prompt_tokens=200, passage_tokens=30)
    assert excerpts and ANSWER in flat(excerpts[0].text)  # the best passage, trimmed, keeps it
    assert excerpts[0].trimmed
    whole = Excerpt.whole(excerpts[0].result).text
    assert len(excerpts[0].text) < len(whole)  # and less than the whole section
    assert "Motorcycles" not in excerpts[0].text
    assert all("Coffee beans" not in e.text for e in excerpts)  # the kitchen is not asked


def test_a_near_duplicate_copy_is_given_once(library: Library) -> None:
    results = library.search(QUESTION, k=8).results
    assert sum(ANSWER in flat(r.chunk.text) for r in results) == 2  # both copies retrieved
    excerpts = select_excerpts(score_passages(library.embedder, QUESTION, results),
                               library.embedder.count_tokens)  # type: ignore[attr-defined]
    assert sum(ANSWER in flat(e.text) for e in excerpts) == 1


def test_the_extract_is_the_answering_sentence_cited_by_its_passage_number(
        library: Library) -> None:
    results = library.search(QUESTION, k=8).results
    evidence = score_passages(library.embedder, QUESTION, results)
    excerpts = select_excerpts(evidence, library.embedder.count_tokens)  # type: ignore[attr-defined]
    sentences = extract(evidence, excerpts)
    assert ANSWER in flat(sentences[0].text)
    cited = excerpts[sentences[0].number - 1]
    assert sentences[0].text in cited.text
    chunk = cited.result.chunk
    assert chunk.start_char is not None and sentences[0].start_char is not None
    # it points into the document's text, where the preview can show it
    offset = sentences[0].start_char - chunk.start_char
    assert chunk.text[offset:offset + len(sentences[0].text)] == sentences[0].text


def test_the_nearest_passages_by_meaning_are_scored_first() -> None:
    """``split_first``: the extract's passages are the nearest by cosine, keyword-only hits
    (no cosine) after every dense one; both lists keep the search order."""
    from desktop_app.core.search import SearchResult
    from desktop_app.core.store import Chunk

    def hit(i: int, cosine: float | None) -> SearchResult:
        chunk = Chunk(i, i, 1, f"/d/{i}.md", 0, f"text {i}", None, None, None, 0, 6, f"k{i}")
        return SearchResult(chunk, "docs", 1.0, cosine, None, "")

    results = [hit(0, 0.30), hit(1, None), hit(2, 0.55), hit(3, 0.41), hit(4, 0.20),
               hit(5, 0.50)]
    assert split_first(results, 3) == ([2, 3, 5], [0, 1, 4])
    assert split_first(results, 6) == ([0, 1, 2, 3, 4, 5], [])
    assert split_first(results[:2], 4) == ([0, 1], [])
