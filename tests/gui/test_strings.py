"""strings: both languages have every text, with the same placeholders; every key the
window asks for exists; fallbacks and the locale choice."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from desktop_app.gui import strings
from desktop_app.gui.strings import EN, ZH, language_for_locale, set_language, tr

GUI = Path(strings.__file__).parent


def placeholders(text: str) -> set[str]:
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text)
            if field is not None}


def test_every_key_is_in_both_languages() -> None:
    assert sorted(set(EN) - set(ZH)) == []
    assert sorted(set(ZH) - set(EN)) == []


@pytest.mark.parametrize("key", sorted(EN))
def test_placeholders_are_the_same_in_both_languages(key: str) -> None:
    assert placeholders(EN[key]) == placeholders(ZH[key]), key
    assert ZH[key].strip(), key


@pytest.mark.parametrize("language", strings.LANGUAGES)
def test_every_text_formats_with_its_placeholders(language: strings.Language) -> None:
    set_language(language)
    for key, text in strings.CATALOGS[language].items():
        values = {name: "X" for name in placeholders(text)}
        assert "{" not in tr(key, **values).replace("{X}", ""), key


def test_every_key_the_window_uses_exists() -> None:
    """``tr("...")`` with a literal key anywhere in the GUI package, and the keys it
    builds from a prefix (roles, themes)."""
    used: set[str] = set()
    for source in GUI.glob("*.py"):
        if source.name != "strings.py":
            text = source.read_text("utf-8")
            used |= set(re.findall(r"""\btr\(\s*["']([\w.]+)["']\s*[,)]""", text))
    used |= {f"welcome.role.{r}" for r in ("embedder", "llm")}
    used |= {f"settings.theme.{t}" for t in ("system", "light", "dark")}
    assert len(used) > 100
    assert sorted(used - set(EN)) == []


def test_tr_uses_the_chosen_language_and_formats() -> None:
    set_language("zh_CN")
    assert tr("ask.send") == "提问"
    assert tr("library.state.errors", count=3) == "跳过 3 个"
    set_language("en")
    assert tr("ask.send") == "Ask"
    assert tr("library.state.errors", count=3) == "3 skipped"


def test_a_missing_translation_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(ZH, "ask.sources")
    monkeypatch.setitem(ZH, "ask.stop", "")
    set_language("zh_CN")
    assert tr("ask.sources") == "Sources"
    assert tr("ask.stop") == "Stop"
    assert tr("ask.send") == "提问"


def test_an_unknown_key_is_an_error() -> None:
    with pytest.raises(KeyError):
        tr("no.such.key")


def test_an_unknown_language_means_english() -> None:
    set_language("fr")  # type: ignore[arg-type]
    assert strings.language() == "en"
    assert tr("ask.send") == "Ask"


@pytest.mark.parametrize(("locale", "language"), [
    ("zh_CN", "zh_CN"), ("zh_Hans_CN", "zh_CN"), ("zh", "zh_CN"), ("ZH_cn", "zh_CN"),
    ("en_US", "en"), ("en_GB", "en"), ("de_DE", "en"), ("C", "en"), ("", "en"),
])
def test_language_for_locale(locale: str, language: str) -> None:
    assert language_for_locale(locale) == language
