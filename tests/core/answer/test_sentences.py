"""Sentence splitting: spans that index the text, in every script the library holds."""

from __future__ import annotations

from desktop_app.core.answer.sentences import MAX_CHARS, split_sentences


def texts(text: str) -> list[str]:
    spans = split_sentences(text)
    assert all(text[s.start:s.end] == s.text for s in spans)  # spans index the text
    return [s.text for s in spans]


def test_latin_sentences_split_at_terminators_but_not_before_lower_case() -> None:
    assert texts("Run apt-get update first. Then e.g. install it! Is it done? Yes it is.") == [
        "Run apt-get update first.", "Then e.g. install it!", "Is it done? Yes it is."]


def test_cjk_terminators_split_without_spaces() -> None:
    assert texts("如因生病无法工作，请通知上级。若连续缺勤超过两天，需提供医生证明！") == [
        "如因生病无法工作，请通知上级。", "若连续缺勤超过两天，需提供医生证明！"]


def test_lines_are_sentences_and_short_pieces_join_the_next() -> None:
    assert texts("Installing Debian\n\n1.\nDownload the image to a USB stick.\n- Boot.") == [
        "Installing Debian", "1.\nDownload the image to a USB stick.", "- Boot."]


def test_a_run_on_line_is_cut_at_white_space() -> None:
    line = " ".join(["column"] * 200)
    pieces = texts(line)
    assert len(pieces) > 1 and all(len(p) <= MAX_CHARS for p in pieces)
    assert " ".join(pieces) == line
