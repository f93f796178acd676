"""The names a question asks about (``names.name_terms``) and which of them a library lacks."""

from __future__ import annotations

from desktop_app.core.answer.names import MAX_NAMES, absent_names, name_terms


def test_names_in_an_english_question() -> None:
    assert name_terms("How do I install apps from Flathub with Flatpak?") == ["Flathub",
                                                                             "Flatpak"]
    assert name_terms("How do I add a boot entry to systemd-boot?") == ["systemd-boot"]
    assert name_terms("Can SQLCipher open an ext4 image?") == ["SQLCipher", "ext4"]
    assert name_terms("Is C++ supported, or node.js?") == ["C++", "node.js"]


def test_ordinary_words_are_not_names() -> None:
    """A capital that starts a sentence, a bare number, a one-letter word: not names."""
    assert name_terms("How do I reset my password?") == []
    assert name_terms("I forgot my password. What should I do?") == []
    assert name_terms("Where are the 12 meeting rooms?") == []


def test_every_latin_word_of_a_cjk_question_is_a_name() -> None:
    assert name_terms("如何用 Git LFS 管理大文件?") == ["Git", "LFS"]
    assert name_terms("如何在 Rust 中用 rusqlite 查询?") == ["Rust", "rusqlite"]
    assert name_terms("生病了找谁?") == []


def test_repeats_once_and_a_pasted_paragraph_is_capped() -> None:
    assert name_terms("Does Git LFS work with Git?") == ["Git", "LFS"]
    many = "Compare " + ", ".join(f"Tool{i}" for i in range(20)) + "."
    assert len(name_terms(many)) == MAX_NAMES


def test_absent_names_asks_the_library_for_each() -> None:
    asked: list[str] = []

    def mentions(term: str) -> bool:
        asked.append(term)
        return term == "Flathub"

    assert absent_names("How do I use Flathub and Flatpak?", mentions) == ["Flatpak"]
    assert asked == ["Flathub", "Flatpak"]
