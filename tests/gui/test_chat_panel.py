"""The conversation panel and its cards: Enter asks (with the chosen collections),
Shift+Enter starts a line, citations become links, declined answers look different,
a source link says which source, a stopped answer says so."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl

from desktop_app.core.answer import ExtractItem, SentenceCheck, Source
from desktop_app.core.chats import Chat, ChatMessage
from desktop_app.gui.chat_panel import ChatPanel, ScopeButton
from desktop_app.gui.message_cards import (
    FLAG,
    AnswerCard,
    QuestionCard,
    link_citations,
    mark_flagged,
)
from desktop_app.gui.strings import tr

SOURCES = [
    Source.from_dict({"number": 1, "path": "/docs/IT/账户密码管理.md", "location": "重置密码",
                      "text": "Go to the portal."}),
    Source.from_dict({"number": 2, "path": "/docs/HR/leave.md", "location": "",
                      "text": "20 days."}),
]


@pytest.fixture
def panel(qtbot) -> ChatPanel:
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.show()
    return panel


def type_question(qtbot, panel: ChatPanel, text: str) -> None:
    panel.question.setFocus()
    qtbot.keyClicks(panel.question, text)


# -- asking -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_enter_asks_with_the_text_and_all_collections(qtbot, panel: ChatPanel,
                                                      key: Qt.Key) -> None:
    type_question(qtbot, panel, "  How do I reset my password?  ")
    with qtbot.waitSignal(panel.ask_requested, timeout=1000) as asked:
        qtbot.keyClick(panel.question, key)
    assert asked.args == ["How do I reset my password?", None]
    assert "\n" not in panel.question.toPlainText()


def test_shift_enter_starts_a_new_line_and_does_not_ask(qtbot, panel: ChatPanel) -> None:
    type_question(qtbot, panel, "first line")
    with qtbot.assertNotEmitted(panel.ask_requested, wait=100):
        qtbot.keyClick(panel.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(panel.question, "second line")
    assert panel.question.toPlainText() == "first line\nsecond line"
    with qtbot.waitSignal(panel.ask_requested, timeout=1000) as asked:
        qtbot.keyClick(panel.question, Qt.Key.Key_Return)
    assert asked.args[0] == "first line\nsecond line"


def test_an_empty_question_is_not_asked(qtbot, panel: ChatPanel) -> None:
    type_question(qtbot, panel, "   ")
    with qtbot.assertNotEmitted(panel.ask_requested, wait=100):
        qtbot.keyClick(panel.question, Qt.Key.Key_Return)
        panel.ask_button.click()


def test_the_ask_button_asks_with_the_selected_collections(qtbot, panel: ChatPanel) -> None:
    panel.scope.set_collections(["IT", "HR", "Finance"])
    panel.scope.select(["HR", "Finance"])
    type_question(qtbot, panel, "leave days")
    with qtbot.waitSignal(panel.ask_requested, timeout=1000) as asked:
        panel.ask_button.click()
    assert asked.args == ["leave days", ["HR", "Finance"]]


def test_while_answering_ask_is_off_and_stop_is_shown(qtbot, panel: ChatPanel) -> None:
    type_question(qtbot, panel, "a question")
    panel.start_answer("a question")
    assert panel.question.toPlainText() == ""
    assert not panel.ask_button.isEnabled() and panel.stop_button.isVisible()
    type_question(qtbot, panel, "another")
    with qtbot.assertNotEmitted(panel.ask_requested, wait=100):
        qtbot.keyClick(panel.question, Qt.Key.Key_Return)
    with qtbot.waitSignal(panel.stop_requested, timeout=1000):
        panel.stop_button.click()
    panel.finish_answer("Done.", [], [], False, False, [])
    assert panel.ask_button.isEnabled() and not panel.stop_button.isVisible()


def test_streamed_pieces_show_in_the_current_answer(qtbot, panel: ChatPanel) -> None:
    assert panel.hint.isVisible() and not panel.scroll_area.isVisible()
    panel.start_answer("q")
    assert not panel.hint.isVisible() and panel.scroll_area.isVisible()
    panel.set_phase(tr("ask.writing"))
    for piece in ("Reset it ", "in the ", "portal."):
        panel.append(piece)
    card = panel.answer_cards()[-1]
    assert card.status.text() == tr("ask.writing")
    assert card.body.toPlainText() == "Reset it in the portal."
    panel.fail_answer("model crashed")
    assert card.body.toPlainText() == tr("ask.failed", error="model crashed")
    assert panel.ask_button.isEnabled()


def test_a_saved_chat_is_shown_card_by_card(qtbot, panel: ChatPanel) -> None:
    chat = Chat("c1", "t", 0.0, 0.0, (
        ChatMessage("user", "Q1", 0.0),
        ChatMessage("assistant", "A1 [1]", 0.0, sources=(SOURCES[0].as_dict(),)),
        ChatMessage("user", "Q2", 0.0),
        ChatMessage("assistant", "no idea", 0.0, declined=True, collections=("IT",)),
    ))
    panel.show_chat(chat)
    kinds = [type(c).__name__ for c in panel.cards]
    assert kinds == ["QuestionCard", "AnswerCard", "QuestionCard", "AnswerCard"]
    assert [c.objectName() for c in panel.answer_cards()] == ["answerCard", "declinedCard"]
    assert panel.answer_cards()[0].sources == SOURCES[:1]  # saved as dicts, shown as Sources
    panel.show_chat(None)
    assert panel.cards == [] and panel.hint.isVisible()


# -- which collections ----------------------------------------------------------------


def test_scope_button_all_some_one(qtbot) -> None:
    scope = ScopeButton()
    qtbot.addWidget(scope)
    scope.set_collections(["IT", "HR", "Finance"])
    assert scope.selected() is None and scope.text() == tr("ask.scope_all")
    scope._actions["IT"].setChecked(True)  # as a click in the menu does
    assert scope.selected() == ["IT"] and scope.text() == "IT"
    assert not scope._all.isChecked()
    scope._actions["HR"].setChecked(True)
    assert scope.selected() == ["IT", "HR"]
    assert scope.text() == tr("ask.scope_some", count=2)
    scope._all.setChecked(True)  # "All collections" clears the others
    assert scope.selected() is None and scope.text() == tr("ask.scope_all")
    assert not any(a.isChecked() for a in scope._actions.values())
    scope._actions["HR"].setChecked(True)
    scope._actions["HR"].setChecked(False)  # unticking the last one means all again
    assert scope.selected() is None and scope._all.isChecked()


def test_scope_keeps_the_choice_when_collections_change(qtbot) -> None:
    scope = ScopeButton()
    qtbot.addWidget(scope)
    scope.set_collections(["IT", "HR"])
    scope.select(["HR"])
    scope.set_collections(["IT", "HR", "Finance"])
    assert scope.selected() == ["HR"]
    scope.set_collections(["IT"])  # HR was removed: back to all
    assert scope.selected() is None and scope._all.isChecked()
    scope.select(None)
    assert scope.selected() is None


# -- citations and cards ----------------------------------------------------------------


def test_link_citations_links_only_known_numbers() -> None:
    assert link_citations("Reset it [1].", [1, 2]) == r"Reset it [\[1\]](cite:1)."
    assert link_citations("Both [1, 2] and [2，1].", [1, 2]) == (
        r"Both [\[1\]](cite:1)[\[2\]](cite:2) and [\[2\]](cite:2)[\[1\]](cite:1).")
    assert link_citations("Unknown [3] and [1, 3].", [1, 2]) == "Unknown [3] and [1, 3]."
    assert link_citations("A list [a] and [](x).", [1]) == "A list [a] and [](x)."


def test_an_answer_card_links_citations_and_lists_its_sources(qtbot) -> None:
    card = AnswerCard()
    qtbot.addWidget(card)
    card.finish("Use the portal [1]. Leave is 20 days [2].", SOURCES, [], False, False, ["IT"])
    assert card.objectName() == "answerCard" and card.title.isHidden()
    html = card.body.toHtml()
    assert 'href="cite:1"' in html and 'href="cite:2"' in html
    assert "(stopped)" not in card.body.toPlainText()
    listed = card.sources_label.text()
    assert not card.sources_label.isHidden()
    assert '<a href="cite:1">[1] 账户密码管理.md — 重置密码</a>' in listed
    assert '<a href="cite:2">[2] leave.md</a>' in listed
    assert card.status.isHidden()


def test_a_declined_answer_looks_different_and_names_what_was_searched(qtbot) -> None:
    card = AnswerCard()
    qtbot.addWidget(card)
    card.finish("I don't know [1].", [], [], True, False, ["A", "B"])
    assert card.objectName() == "declinedCard"
    assert not card.title.isHidden() and card.title.text() == tr("ask.declined_title")
    assert card.sources_label.text() == "Searched: A, B"
    assert card.body.toPlainText() == "I don't know [1]."  # no links in a decline
    assert "cite:" not in card.body.toHtml()


def test_a_stopped_answer_says_so(qtbot) -> None:
    card = AnswerCard()
    qtbot.addWidget(card)
    card.finish("Reset it in", [], [], False, True, [])
    assert card.body.toPlainText().endswith("(stopped)")
    assert card.sources_label.isHidden()


def test_clicking_a_source_emits_that_source(qtbot) -> None:
    card = AnswerCard()
    qtbot.addWidget(card)
    card.finish("Portal [1], leave [2].", SOURCES, [], False, False, [])
    with qtbot.waitSignal(card.source_clicked, timeout=1000) as clicked:
        card.sources_label.linkActivated.emit("cite:2")
    assert clicked.args[0] == SOURCES[1]
    with qtbot.waitSignal(card.source_clicked, timeout=1000) as clicked:
        card.body.anchorClicked.emit(QUrl("cite:1"))
    assert clicked.args[0] == SOURCES[0]
    with qtbot.assertNotEmitted(card.source_clicked, wait=50):
        card.body.anchorClicked.emit(QUrl("cite:9"))  # no such source
        card.body.anchorClicked.emit(QUrl("https://example.com"))


def test_citations_may_point_at_passages_beyond_the_listed_sources(qtbot) -> None:
    """Sources are the files cited; passages are everything the model was shown."""
    passages = [*SOURCES, Source.from_dict({"number": 3, "path": "/docs/x.md", "text": "third"})]
    card = AnswerCard()
    qtbot.addWidget(card)
    card.finish("See [3].", SOURCES[:1], passages, False, False, [])
    assert 'href="cite:3"' in card.body.toHtml()
    with qtbot.waitSignal(card.source_clicked, timeout=1000) as clicked:
        card.body.anchorClicked.emit(QUrl("cite:3"))
    assert clicked.args[0].path == "/docs/x.md"


def test_a_source_click_in_the_panel_reaches_the_panel(qtbot, panel: ChatPanel) -> None:
    panel.start_answer("q")
    panel.finish_answer("Portal [1].", SOURCES, [], False, False, [])
    card = panel.answer_cards()[-1]
    with qtbot.waitSignal(panel.source_clicked, timeout=1000) as clicked:
        card.sources_label.linkActivated.emit("cite:1")
    assert clicked.args[0] == SOURCES[0]


def test_a_question_card_shows_the_question(qtbot) -> None:
    card = QuestionCard("Where is the VPN guide?")
    qtbot.addWidget(card)
    assert card.label.text() == "Where is the VPN guide?"
    assert card.objectName() == "questionCard"


def test_the_extract_shows_before_the_answer_and_stays_with_it(qtbot) -> None:
    card = AnswerCard()
    qtbot.addWidget(card)
    assert card.extract_label.isHidden()
    card.set_extract([ExtractItem("请使用自助重置门户。", 1, SOURCES[0].path, None, None, 0.6)],
                     SOURCES)
    assert not card.extract_label.isHidden()
    assert '请使用自助重置门户。 <a href="cite:1">[1]</a>' in card.extract_label.text()
    card.append("Use the portal [1].")
    card.finish("Use the portal [1].", SOURCES[:1], SOURCES, False, False, ["IT"],
                written_by="192.168.1.20:8080")
    assert not card.extract_label.isHidden()
    assert card.origin_label.text() == "Written by 192.168.1.20:8080"


def test_a_later_extract_replaces_the_first_and_an_empty_one_hides_it(qtbot) -> None:
    """The answerer shows the nearest passages' extract first, then the extract of every
    passage when it differs (renumbered as the answer), or nothing when it declines."""
    card = AnswerCard()
    qtbot.addWidget(card)
    card.set_extract([ExtractItem("请使用自助重置门户。", 1, SOURCES[0].path, None, None, 0.6)],
                     SOURCES)
    card.set_extract([ExtractItem("密码每 90 天须更换一次。", 2, SOURCES[1].path, None, None,
                                  0.7)], SOURCES)
    text = card.extract_label.text()
    assert "密码每 90 天须更换一次。" in text and 'href="cite:2"' in text
    assert "自助重置门户" not in text
    card.set_extract([], [])
    assert card.extract_label.isHidden()


def test_a_flagged_sentence_is_marked_while_streaming_and_listed_with_its_reason(
        qtbot) -> None:
    card = AnswerCard()
    qtbot.addWidget(card)
    text = "Leave is 15 days [2]. Use the portal [1]."
    card.append(text)
    wrong = SentenceCheck(0, 0, 21, "Leave is 15 days.", (2,), "unsupported", (),
                          0.62, ("15",), "not found in the cited passage: 15")
    right = SentenceCheck(1, 22, len(text), "Use the portal.", (1,), "supported", (1,), 0.7)
    card.mark_checked(right)
    assert card.flagged_label.isHidden() and FLAG not in card.body.toPlainText()
    card.mark_checked(wrong)
    assert card.body.toPlainText().startswith(f"Leave is 15 days [2]. {FLAG}")
    listed = card.flagged_label.text()
    assert not card.flagged_label.isHidden()
    assert "Leave is 15 days." in listed and "not found in the cited passage" in listed
    assert "missing: 15" in listed
    card.finish(text, SOURCES, SOURCES, False, False, [], checks=[wrong, right])
    assert f"[2]. {FLAG}" in card.body.toPlainText()
    assert "Use the portal" not in card.flagged_label.text()  # supported: not listed


def test_mark_flagged_puts_the_mark_after_each_flagged_sentence() -> None:
    checks = [SentenceCheck(0, 0, 5, "A b c", (), "unsupported"),
              SentenceCheck(1, 6, 11, "D e f", (), "supported")]
    assert mark_flagged("A b c D e f", checks) == f"A b c {FLAG} D e f"
