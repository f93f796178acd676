"""``kura`` as a user runs it: a real subprocess on the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.core.test_embedder import RED_PLANET_DOCS, RED_PLANET_QUERY


def kura(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop_app.core.cli", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_similarity_json_ranks_mars_first(cli_env: dict[str, str]) -> None:
    result = kura("similarity", RED_PLANET_QUERY, *RED_PLANET_DOCS, "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    scores = [r["score"] for r in data["results"]]
    assert data["dim"] == 768 and len(scores) == 4
    assert max(range(4), key=scores.__getitem__) == 1


def test_similarity_prints_one_line_per_document(cli_env: dict[str, str]) -> None:
    result = kura("similarity", "年假有几天?", "员工每年享有带薪年假。", "会议室需要提前预订。",
                  "--dim", "256", env=cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    first, second = (float(line.split()[0]) for line in lines)
    assert first > second


def test_missing_model_is_a_one_line_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(cli_env, KURA_EMBEDDER_DIR=str(tmp_path / "none"))
    result = kura("similarity", "q", "d", env=env)
    assert result.returncode == 2
    assert "model.onnx" in result.stderr and "Traceback" not in result.stderr


def test_add_search_status_remove_round_trip(cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.core.test_library import CORP_KB

    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    folder = CORP_KB / "IT 与安全"
    added = kura("add", str(folder), "--json", env=env)
    assert added.returncode == 0, added.stderr
    status = json.loads(added.stdout)
    assert status["collections"][0]["name"] == "IT 与安全"
    assert status["collections"][0]["by_status"]["embedded"] == 2

    found = kura("search", "如何重置密码?", "-k", "3", "--json", env=env)
    assert found.returncode == 0, found.stderr
    first = json.loads(found.stdout)["results"][0]
    assert first["path"].endswith("账户密码管理.md") and first["snippet"]

    people = kura("search", "如何重置密码?", env=env)
    assert people.stdout.startswith("1. ") and "账户密码管理.md" in people.stdout

    unknown = kura("search", "x", "--collection", "nope", env=env)
    assert unknown.returncode == 2 and "nope" in unknown.stderr

    removed = kura("remove", str(folder), "--json", env=env)
    assert removed.returncode == 0 and len(json.loads(removed.stdout)["removed"]) == 2
    empty = kura("status", "--json", env=env)
    assert json.loads(empty.stdout)["collections"] == []


def test_skipped_files_still_exit_zero(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("The office opens at nine.")
    (folder / "bad.pdf").write_bytes(b"%PDF-1.7 truncated garbage")
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    result = kura("add", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    assert "bad.pdf" in result.stdout and "Skipped files (1)" in result.stdout


def test_adding_a_missing_folder_is_a_clear_error(cli_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    env = dict(cli_env, KURA_HOME=str(tmp_path / "home"))
    result = kura("add", str(tmp_path / "nowhere"), env=env)
    assert result.returncode == 2 and "no such file or folder" in result.stderr
