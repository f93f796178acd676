"""Page furniture and navigation off the edges of sections; the text itself untouched."""

from __future__ import annotations

import pytest

from desktop_app.core.ingest import Section
from desktop_app.core.ingest.boilerplate import (
    is_navigation,
    is_page_number,
    without_boilerplate,
)

SUBJECTS = ["folders", "PDF files", "slides", "spreadsheets", "web pages", "e-books", "notes",
            "source code", "Word files", "Markdown", "logs", "tables", "letters", "manuals",
            "reports", "minutes", "invoices", "recipes", "papers", "theses", "memos", "forms",
            "plans", "drafts", "scripts", "lists", "guides", "books", "quotes", "emails"]


def page_body(n: int) -> str:
    """Four lines that no other page has (digits aside: a running header's key
    ignores them)."""
    subject, other = SUBJECTS[n % len(SUBJECTS)], SUBJECTS[(n * 7 + 3) % len(SUBJECTS)]
    return (f"Kura reads your {subject} and keeps an index of their text.\n"
            f"Nothing about {subject} leaves your computer.\n"
            f"Add {other}, wait for the first documents, and ask.\n"
            f"Answers about {other} cite the page they come from.")


def book(pages: int, *, header: str = "The Kura Handbook",
         footer: str = "Page {n} of {total}", chapter_every: int = 0) -> list[Section]:
    """Pages as a PDF reader returns them: running header, body, footer."""
    sections = []
    for n in range(1, pages + 1):
        top = header
        if chapter_every and n % 2:  # odd pages carry the chapter's running title
            top = f"Chapter {(n - 1) // chapter_every + 1}. Getting Started"
        text = f"{top}\n{page_body(n)}\n{footer.format(n=n, total=pages)}"
        sections.append(Section(text, f"page {n}", page=n))
    return sections


def bodies(sections: list[Section]) -> list[str]:
    return [s.text for s in sections]


def expected_body(n: int) -> str:
    return page_body(n)


@pytest.mark.parametrize("line", [
    "12", "xii", "XIV", "Page 12", "Page 12 of 80", "page 3/12", "12 / 80", "- 12 -",
    "— 12 —", "[12]", "第 12 页", "第12页 共80页", "Seite 3 von 12", "p. 7"])
def test_page_numbers(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["civil", "Chapter 12", "12 apples", "The end", "Page", ""])
def test_not_page_numbers(line: str) -> None:
    assert not is_page_number(line)


@pytest.mark.parametrize("line", [
    "Prev", "• Next", "Up", "Home", "• 上一页", "下一页", "[Home](index.html)",
    "-   [Home](index.html)", "Back to top", "Prev | Up | Next", "« Previous", "Next »"])
def test_navigation_lines(line: str) -> None:
    assert is_navigation(line)


@pytest.mark.parametrize("line", ["Next, install the package.", "Home directories",
                                  "Prev14.6 and more", "Debian 管理员手册", "- item"])
def test_not_navigation_lines(line: str) -> None:
    assert not is_navigation(line)


def test_running_header_and_page_numbers_go() -> None:
    pages = without_boilerplate(book(6))
    assert bodies(pages) == [expected_body(n) for n in range(1, 7)]


def test_running_chapter_titles_go_too() -> None:
    """The book's title on even pages, each chapter's title on its odd pages: neither
    is on most pages, both recur densely."""
    pages = without_boilerplate(book(24, chapter_every=8))
    assert bodies(pages) == [expected_body(n) for n in range(1, 25)]


def test_footer_listed_before_the_body_goes() -> None:
    """PDFs list text in drawing order: a footer drawn first comes out on top."""
    sections = [Section(f"Confidential - ACME Corp\n{n}\n{expected_body(n)}", f"page {n}",
                        page=n) for n in range(1, 5)]
    assert bodies(without_boilerplate(sections)) == [expected_body(n) for n in range(1, 5)]


def test_a_line_repeated_on_a_few_far_apart_pages_stays() -> None:
    sections = []
    for n in range(1, 31):
        first = "Summary" if n in (1, 15, 30) else f"The {SUBJECTS[n - 1]} come first."
        sections.append(Section(f"{first}\n{expected_body(n)}", f"page {n}", page=n))
    tidied = without_boilerplate(sections)
    assert [s.text.splitlines()[0] for s in tidied] == [
        s.text.splitlines()[0] for s in sections]


def test_lines_inside_the_text_are_never_touched() -> None:
    inner = "The Kura Handbook\n12\nNext"
    sections = [Section(f"The Kura Handbook\n{page_body(n)}\n{inner}\n{page_body(n + 10)}"
                        f"\n{n}", f"page {n}", page=n) for n in range(1, 5)]
    assert bodies(without_boilerplate(sections)) == [
        f"{page_body(n)}\n{inner}\n{page_body(n + 10)}" for n in range(1, 5)]


def test_sections_that_are_not_pages_keep_their_numbers() -> None:
    """A Markdown section may well end with a number; only pages have page numbers."""
    sections = [Section("How many days of leave?\n15", "Leave"),
                Section("Prev\nUp\nThe answer is below.\n42\nNext", "Answer")]
    assert bodies(without_boilerplate(sections)) == [
        "How many days of leave?\n15", "The answer is below.\n42"]


def test_two_pages_have_no_running_header() -> None:
    sections = book(2, footer="Confidential")
    assert [s.text.splitlines()[0] for s in without_boilerplate(sections)] == [
        "The Kura Handbook"] * 2


def test_a_document_of_nothing_but_furniture_keeps_its_text() -> None:
    sections = [Section("ACME Corp\n- 1 -", "page 1", page=1),
                Section("ACME Corp\n- 2 -", "page 2", page=2),
                Section("ACME Corp\n- 3 -", "page 3", page=3)]
    assert without_boilerplate(sections) == sections


def test_emptied_pages_stay_for_the_caller_to_drop() -> None:
    sections = book(4)
    sections[2] = Section("The Kura Handbook\nPage 3 of 4", "page 3", page=3)
    tidied = without_boilerplate(sections)
    assert [s.page for s in tidied] == [1, 2, 3, 4]
    assert tidied[2].text == ""
