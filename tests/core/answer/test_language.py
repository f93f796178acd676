"""The question's language by script, and the decline message written in it."""

from __future__ import annotations

import pytest

from desktop_app.core.answer import decline_message, detect_language
from desktop_app.core.answer.language import script_mismatch


@pytest.mark.parametrize(("question", "language"), [
    ("如何重置密码?", "zh"),
    ("公司的股票期权怎么行权?", "zh"),
    ("飞书怎么用 VPN?", "zh"),
    ("パスワードをリセットするには?", "ja"),
    ("会議室の予約方法は?", "ja"),  # kanji and one kana: Japanese, not Chinese
    ("비밀번호를 재설정하려면 어떻게 하나요?", "ko"),
    ("How do I reset my password?", "other"),
    ("How do I use 飞书?", "other"),
    ("Wie setze ich mein Passwort zurück?", "other"),
    ("???", "other"),
])
def test_detect_language(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_chinese_decline_names_the_collections() -> None:
    text = decline_message("公司的股票期权怎么行权?", ["IT 与安全", "财务与报销"])
    assert text.startswith("我不知道")
    assert "IT 与安全、财务与报销" in text


def test_other_languages_and_an_empty_library() -> None:
    assert decline_message("会議室の予約方法は?", ["A"]).startswith("わかりません")
    assert decline_message("휴가는 며칠인가요?", ["A"]).startswith("모르겠습니다")
    assert decline_message("What about stock options?", ["A", "B"]) == (
        "I don't know. Nothing in the collections searched (A, B) answers this question.")
    assert "no collections" in decline_message("Anything?", [])


@pytest.mark.parametrize(("question", "passage", "low", "high"), [
    ("How do I reset my password?", "Use the self-service reset portal.", 0.0, 0.0),
    ("How do I reset my password?", "如忘记密码,请使用自助重置门户。", 1.0, 1.0),
    ("如何重置密码?", "如忘记密码,请使用自助重置门户 https://reset.ourcompany。", 0.0, 0.4),
    ("如何用 Flatpak 安装?", "Flatpak installs applications.", 0.6, 0.8),  # the name matches
    ("パスワードをリセットするには?", "如忘记密码,请使用自助重置门户。", 1.0, 1.0),
    ("Как сбросить пароль?", "Reset your password here.", 1.0, 1.0),  # Cyrillic vs Latin
    ("Wie setze ich mein Passwort zurück?", "Reset your password.", 0.0, 0.0),  # a script
    ("???", "Anything.", 0.0, 0.0),
])
def test_script_mismatch(question: str, passage: str, low: float, high: float) -> None:
    assert low <= script_mismatch(question, passage) <= high
