from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse
from tests.support.documents import ole_file, pptx_deck


def test_one_section_per_slide_with_numbers_titles_and_notes(tmp_path: Path) -> None:
    document = parse(pptx_deck(tmp_path / "deck.pptx"))
    assert document.kind == "pptx"
    assert document.title == "Quarterly results"  # no core title: the first slide's
    assert [(s.page, s.location, s.heading) for s in document.sections] == [
        (1, "slide 1", "Quarterly results"),
        (2, "slide 2", "Budget table"),
        (4, "slide 4", None),  # slide 3 is blank; numbering still matches the deck
    ]
    first = document.sections[0].text
    assert first == ("Quarterly results\nRevenue grew 12% in the third quarter\n\n"
                     "Notes:\nMention the new Osaka office.")
    assert document.sections[1].text == "Budget table\nTeam | Budget\nDesign | 40k"
    assert document.sections[2].text == "Grouped shapes still count"


def test_core_title_wins(tmp_path: Path) -> None:
    import pptx

    path = pptx_deck(tmp_path / "deck.pptx")
    deck = pptx.Presentation(str(path))
    deck.core_properties.title = "Q3 Review"
    deck.save(str(path))
    assert parse(path).title == "Q3 Review"


def test_password_protected_presentation(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        parse(ole_file(tmp_path / "locked.pptx", encrypted=True))
    assert caught.value.reason is SkipReason.ENCRYPTED
    assert caught.value.message == "This PowerPoint presentation is password-protected."
