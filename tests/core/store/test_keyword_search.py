from __future__ import annotations

import pytest

from desktop_app.core.store import Database, fts_query, segment
from desktop_app.core.store.keywords import phrase_query
from tests.support.store import chunks

RESET_ZH = "如何重置密码？请访问自助服务门户。"


def test_segment_bigrams_cjk_runs_and_leaves_other_text() -> None:
    assert segment("重置密码") == "重置 置密 密码 码"
    assert segment("猫") == "猫"
    assert segment(RESET_ZH) == (
        "如何 何重 重置 置密 密码 码 ? 请访 访问 问自 自助 助服 服务 务门 门户 户 。")
    assert segment("Python编程 v3") == "Python 编程 程 v3"
    assert segment("パスワードを変更") == "パス スワ ワー ード ドを を変 変更 更"
    assert segment("비밀번호 재설정") == "비밀 밀번 번호 호 재설 설정 정"
    assert segment("ＰＤＦ  café") == "PDF café"  # NFKC; diacritics are unicode61's job


def test_fts_query_quotes_and_ors_terms() -> None:
    assert fts_query("重置密码") == '"重置" OR "置密" OR "密码"'
    assert fts_query("码") == '"码"*'
    assert fts_query("reset password") == '"reset" OR "password"'
    assert fts_query('say "hi" NEAR(x') == '"say" OR """hi""" OR "NEAR(x"'
    assert fts_query("密码 密码") == '"密码"'
    assert fts_query("") is None
    assert fts_query(" ？！ -- ") is None


@pytest.fixture
def library(db: Database) -> tuple[Database, int, int]:
    zh = db.create_collection("中文")
    en = db.create_collection("English")
    db.replace_document(zh, "/zh/help.txt", 1, 1, "h", "txt", "帮助", [
        *chunks(RESET_ZH, title="账户"),
        *chunks("网络连接失败时，请检查路由器。", title="网络"),
        *chunks("パスワードを変更するには設定を開きます。", title="設定"),
    ])
    db.replace_document(en, "/en/help.txt", 1, 1, "h", "txt", "Help", [
        *chunks("To reset your password, visit the self-service portal.", title="Account"),
        *chunks("If the network connection fails, restart the router.", title="Network"),
        *chunks("Our café serves coffee and ＰＤＦ brochures.", title="Misc"),
    ])
    return db, zh, en


def _texts(db: Database, hits: list[tuple[int, float]]) -> list[str]:
    found = db.get_chunks(cid for cid, _ in hits)
    return [found[cid].text for cid, _ in hits]


def test_chinese_queries(library: tuple[Database, int, int]) -> None:
    db, _, _ = library
    for query in ("重置密码", "密码", "码", "自助服务门户", "如何重置密码？"):
        assert _texts(db, db.keyword_search(query, 5))[0] == RESET_ZH, query
    assert _texts(db, db.keyword_search("路由器", 5)) == ["网络连接失败时，请检查路由器。"]
    assert db.keyword_search("飞机", 5) == []
    assert _texts(db, db.keyword_search("パスワード", 5)) == [
        "パスワードを変更するには設定を開きます。"]


def test_more_matching_terms_rank_higher(library: tuple[Database, int, int]) -> None:
    db, _, _ = library
    hits = db.keyword_search("重置密码 路由器", 5)
    assert len(hits) == 2
    assert hits[0][1] >= hits[1][1]
    assert _texts(db, hits)[0] == RESET_ZH  # three bigrams match vs two
    english = db.keyword_search("reset password router", 5)
    assert "reset your password" in _texts(db, english)[0]


def test_english_queries(library: tuple[Database, int, int]) -> None:
    db, _, _ = library
    assert "reset your password" in _texts(db, db.keyword_search("PASSWORD", 5))[0]
    assert "café" in _texts(db, db.keyword_search("cafe", 5))[0]  # diacritics removed
    assert "café" in _texts(db, db.keyword_search("pdf", 5))[0]  # full-width folded
    assert "self-service" in _texts(db, db.keyword_search("self-service", 5))[0]
    assert "café" in _texts(db, db.keyword_search("misc", 5))[0]  # the title is indexed too
    assert db.keyword_search("???", 5) == []
    assert db.keyword_search('"unbalanced (quote NEAR', 5) == []  # no FTS5 syntax errors


def test_collection_scoping_and_k(library: tuple[Database, int, int]) -> None:
    db, zh, en = library
    both = db.keyword_search("password 密码 router 路由器", 10)
    assert len(both) == 4
    only_en = db.keyword_search("password 密码 router 路由器", 10, collection_ids=[en])
    assert {db.get_chunks([c])[c].collection_id for c, _ in only_en} == {en}
    assert len(only_en) == 2
    assert len(db.keyword_search("password 密码", 10, collection_ids=[zh, en])) == 2
    assert db.keyword_search("password", 10, collection_ids=[]) == []
    assert len(db.keyword_search("password 密码 router 路由器", 1)) == 1
    assert db.keyword_search("password", 0) == []


def test_phrase_query_keeps_a_name_together() -> None:
    assert phrase_query("systemd-boot") == '"systemd boot"'
    assert phrase_query("SQLCipher") == '"SQLCipher"'
    assert phrase_query("重置密码") == '"重置 置密 密码"'
    assert phrase_query(" -- ") is None


def test_mentions_finds_whole_words_in_the_collections_asked(
        library: tuple[Database, int, int]) -> None:
    db, zh, en = library
    assert db.mentions("PASSWORD") and db.mentions("self-service")
    assert db.mentions("password", [en]) and not db.mentions("password", [zh])
    assert not db.mentions("pass")  # a whole word, not a prefix
    assert not db.mentions("service-self")  # a phrase, in order
    assert not db.mentions("WireGuard")
    assert db.mentions("重置密码") and not db.mentions("重置密码", [en])
    assert not db.mentions("password", [])
