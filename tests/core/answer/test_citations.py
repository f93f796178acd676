"""Citation markers to sources. Pure string logic: the passages here are plain strings
standing in for sources (a fake on purpose; the real mapping runs in test_answerer)."""

from __future__ import annotations

from desktop_app.core.answer import cited, cited_numbers

PASSAGES = ["passage one", "passage two", "passage three", "passage four"]


def test_exactly_the_cited_sources_in_order_of_first_citation() -> None:
    text = "Use the self-service portal [3]. Security questions are required [1][3]."
    assert cited(text, PASSAGES) == ["passage three", "passage one"]


def test_grouped_ranged_and_full_width_markers() -> None:
    assert cited_numbers("见［2］和【4】", 4) == [2, 4]
    assert cited_numbers("as stated [1, 3] and [2-3]", 4) == [1, 3, 2]
    assert cited_numbers("多个来源[1，2、4]", 4) == [1, 2, 4]


def test_numbers_naming_no_passage_are_ignored() -> None:
    assert cited_numbers("see [0], [5], [2024] and [1-999]", 4) == []
    assert cited("no markers at all", PASSAGES) == []


def test_brackets_that_are_not_citations() -> None:
    assert cited_numbers("a list [a] and an array[i] and (1)", 4) == []
