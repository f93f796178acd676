"""Search pieces that do not need a corpus: snippets and grouping."""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.library import Library
from desktop_app.core.search import snippet


def test_snippet_centres_on_the_query_term() -> None:
    text = "Intro. " * 80 + "The VPN client is called Tunnelo. " + "Outro. " * 80
    cut = snippet(text, "Tunnelo client")
    assert "Tunnelo" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) <= 242


def test_snippet_finds_chinese_terms_without_spaces() -> None:
    text = "前言。" * 100 + "如忘记密码请使用自助重置门户。" + "结尾。" * 100
    assert "重置" in snippet(text, "如何重置密码")


def test_one_file_does_not_fill_the_top_k(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    long = "\n\n".join(f"## Part {i}\n\nThe expense policy rule {i}: receipts within "
                       f"{i + 3} days." for i in range(40))
    (folder / "expenses.md").write_text("# Expenses\n\n" + long)
    (folder / "travel.md").write_text("# Travel\n\nTravel expenses need receipts too.")
    library = Library(home=tmp_path / "home", embedder=embedder)
    for _ in library.add([folder]):
        pass
    results = library.search("expense receipts", k=5).results
    per_file: dict[str, int] = {}
    for r in results:
        per_file[r.path] = per_file.get(r.path, 0) + 1
    assert max(per_file.values()) <= 2
    assert any(p.endswith("travel.md") for p in per_file)
    library.close()
