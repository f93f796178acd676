"""Every sentence of an answer checked against the passages it cites: by meaning (the
real embedder) and by the facts that must match exactly."""

from __future__ import annotations

import pytest

from desktop_app.core.answer.checks import (
    AnswerChecker,
    PassageText,
    answer_sentences,
    facts,
)

LEAVE = ("全职员工首年可享受10天带薪年假。年假自入职满六个月后生效,并随服务年限增加。"
         "例如,服务满三年的员工每年可享受14天年假。")
PASSWORD = ("如忘记密码或账户被锁定,请使用自助重置门户:https://reset.ourcompany。"
            "出于安全考虑,IT帮助台无法通过电话或邮件重置密码。")


def test_facts_are_numbers_codes_names_and_quotes() -> None:
    found = facts('Run "edquota -t" before 09:30 on 2024-05-01 for 1,000 users of the VPN [1].')
    assert {"edquota -t", "09:30", "2024-05-01", "1,000", "VPN"} <= set(found)
    assert "1" not in found  # the citation marker is not a fact
    assert facts("全职员工首年可享受10天带薪年假。") == ["10"]


def test_citations_after_the_full_stop_stay_with_their_sentence() -> None:
    text = "Ten days. [1] Fourteen after three years [2]."
    assert [s.text for s in answer_sentences(text)] == [
        "Ten days. [1]", "Fourteen after three years [2]."]


@pytest.fixture(scope="module")
def checker(embedder) -> AnswerChecker:
    return AnswerChecker(embedder, [PassageText(1, LEAVE), PassageText(2, PASSWORD)])


def check(checker: AnswerChecker, answer: str):
    checker.checks = []
    return checker.finish(answer)


def test_a_sentence_that_restates_its_passage_is_supported(checker: AnswerChecker) -> None:
    checks = check(checker, "全职员工首年可享受10天带薪年假[1]。"
                            "服务满三年的员工每年可享受14天年假[1]。")
    assert [c.verdict for c in checks] == ["supported", "supported"]
    assert checks[0].cited == (1,) and checks[0].supported_by == (1,)


def test_across_languages_too(checker: AnswerChecker) -> None:
    (result,) = check(checker, "Full-time employees get 10 days of paid leave in their "
                               "first year [1].")
    assert result.verdict == "supported"


def test_a_wrong_number_is_flagged_even_when_the_meaning_is_close(
        checker: AnswerChecker) -> None:
    (result,) = check(checker, "全职员工首年可享受15天带薪年假[1]。")
    assert result.flagged and result.missing == ("15",)
    assert result.reason.startswith("not found in the cited passage")
    (english,) = check(checker, "Full-time employees get 12 days of paid leave [1].")
    assert english.flagged and english.missing == ("12",)


def test_citing_the_wrong_passage_is_flagged_and_names_the_right_one(
        checker: AnswerChecker) -> None:
    (result,) = check(checker, "请使用自助重置门户 https://reset.ourcompany 重置密码[1]。")
    assert result.flagged and result.cited == (1,)
    assert result.supported_by == (2,) and "[2]" in result.reason


def test_an_unsupported_uncited_sentence_is_flagged_and_a_decline_is_not(
        checker: AnswerChecker) -> None:
    invented, decline = check(checker, "The cafeteria serves free lunch on Fridays. "
                                       "I don't know more than that.")
    assert invented.flagged and invented.reason.startswith("not found in any passage")
    assert decline.verdict == "not_checked"


def test_sentences_are_checked_as_they_are_completed(checker: AnswerChecker) -> None:
    checker.checks = []
    assert checker.feed("全职员工首年可享受15天") == []  # not finished yet
    done = checker.feed("全职员工首年可享受15天带薪年假[1]。服务满三年")
    assert len(done) == 1 and done[0].flagged
    whole = "全职员工首年可享受15天带薪年假[1]。服务满三年的员工每年可享受14天年假[1]。"
    assert len(checker.finish(whole)) == 2
