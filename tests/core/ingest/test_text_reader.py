from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse, text_reader

MARKDOWN = """\
---
title: "Kura User Guide"
tags: [help]
---
Welcome to Kura.

# Install

## Linux
Download the AppImage.

```bash
# this comment is not a heading
chmod +x Kura.AppImage
```

## Windows
Run the installer.

Troubleshooting **tips**
------------------------
Restart the app.

# Use
Ask a question.
"""


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_markdown_sections_carry_heading_paths(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "guide.md", MARKDOWN))
    assert document.kind == "markdown"
    assert document.title == "Kura User Guide"  # front matter beats the first H1
    assert [(s.location, s.heading) for s in document.sections] == [
        (None, None),
        ("Install > Linux", "Linux"),
        ("Install > Windows", "Windows"),
        ("Install > Troubleshooting tips", "Troubleshooting tips"),
        ("Use", "Use"),
    ]
    linux = document.sections[1].text
    assert "# this comment is not a heading" in linux and "chmod +x" in linux
    assert document.sections[0].text == "Welcome to Kura."
    assert "title:" not in document.sections[0].text  # front matter is not content


def test_markdown_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "n.md", "## Intro\ntext\n# Real Title\nmore\n"))
    assert document.title == "Real Title"
    assert [s.location for s in document.sections] == ["Intro", "Real Title"]


def test_markdown_hashtag_without_space_is_text(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "n.md", "#hashtag notes\nline two\n"))
    assert document.sections[0].heading is None
    assert document.sections[0].text == "#hashtag notes\nline two"


def test_markdown_thematic_break_is_not_a_heading(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "n.md", "# A\npara\n\n---\n\nafter\n"))
    assert [s.location for s in document.sections] == ["A"]
    assert document.sections[0].text == "para\n\n---\n\nafter"


def test_headings_only_markdown_is_not_empty(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "todo.md", "# Ideas\n## Later\n"))
    assert [s.text for s in document.sections] == ["Ideas", "Later"]


RST = """\
=================
Kura Admin Manual
=================

Intro paragraph.

Installation
============

Linux
-----

Use the package.

::

    literal block
    ------------

安装说明
--------

中文内容。

Upgrading
=========

Back up first.
"""


def test_rst_sections_at_underlined_titles(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "manual.rst", RST))
    assert document.kind == "rst"
    assert document.title == "Kura Admin Manual"
    assert [s.location for s in document.sections] == [
        "Kura Admin Manual",
        "Kura Admin Manual > Installation > Linux",
        "Kura Admin Manual > Installation > 安装说明",
        "Kura Admin Manual > Upgrading",
    ]
    assert "literal block" in document.sections[1].text  # indented: not a title
    assert document.sections[2].text == "中文内容。"


def test_csv_rows_are_keyed_by_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "staff.csv", "Name,Team,Phone\nAda,Core,\n\n Grace ,Tools,555\n")
    document = parse(path)
    assert document.kind == "csv"
    assert document.sections[0].text == (
        "Name: Ada | Team: Core\nName: Grace | Team: Tools | Phone: 555")


def test_csv_semicolons_and_tsv_and_headerless(tmp_path: Path) -> None:
    semicolons = parse(_write(tmp_path, "eu.csv", "Stadt;Preis\nBerlin;3,50\nWien;4,10\n"))
    assert semicolons.sections[0].text == "Stadt: Berlin | Preis: 3,50\nStadt: Wien | Preis: 4,10"
    tsv = parse(_write(tmp_path, "t.tsv", "City\tPop\nOslo\t700000\n"))
    assert tsv.sections[0].text == "City: Oslo | Pop: 700000"
    numbers = parse(_write(tmp_path, "n.csv", "1,2,3\n4,5,6\n"))
    assert numbers.sections[0].text == "1 | 2 | 3\n4 | 5 | 6"


def test_csv_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_reader, "MAX_ROWS", 3)
    rows = "".join(f"{i},{i * 2}\n" for i in range(10))
    document = parse(_write(tmp_path, "big.csv", "A,B\n" + rows))
    lines = document.sections[0].text.splitlines()
    assert lines == ["A: 0 | B: 0", "A: 1 | B: 2", "A: 2 | B: 4",
                     "(Only the first 3 rows were read.)"]


def test_code_is_one_verbatim_section(tmp_path: Path) -> None:
    source = "# setup\nimport os\n\n\ndef main() -> None:\n    print(os.getcwd())\n"
    document = parse(_write(tmp_path, "tool.py", source))
    assert document.kind == "code"
    assert document.title is None
    assert len(document.sections) == 1
    assert document.sections[0].location is None and document.sections[0].heading is None
    assert document.sections[0].text == source.rstrip("\n")  # "# setup" is not a heading


def test_plain_text_and_gbk_markdown(tmp_path: Path) -> None:
    text = parse(_write(tmp_path, "notes.txt", "line one\r\nline two   \r\n"))
    assert text.kind == "text" and text.sections[0].text == "line one\nline two"
    gbk = ("# 年假政策\n\n所有正式员工每年享有十五天带薪年假，"
           "入职满五年后增加到二十天。请提前两周申请。\n")
    document = parse(_write(tmp_path, "gbk.md", gbk, encoding="gbk"))
    assert document.encoding in {"gbk", "gb18030"}
    assert document.title == "年假政策"
    assert document.sections[0].heading == "年假政策"
    assert document.sections[0].text.startswith("所有正式员工")


def test_whitespace_only_is_empty(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        parse(_write(tmp_path, "blank.md", "  \n\t\n   \n"))
    assert caught.value.reason is SkipReason.EMPTY
    assert caught.value.message == "The file has no text in it."


def test_reader_can_be_called_directly(tmp_path: Path) -> None:
    document = text_reader.read_markdown(_write(tmp_path, "x.md", "# T\nbody\n"))
    assert (document.kind, document.sections[0].location, document.encoding) == (
        "markdown", "T", "utf-8")


def test_leading_rule_is_not_front_matter(tmp_path: Path) -> None:
    document = parse(_write(tmp_path, "r.md", "---\n\nA note.\n\n---\n# Later\ntext\n"))
    assert document.title == "Later"
    assert document.sections[0].text == "---\n\nA note.\n\n---"
