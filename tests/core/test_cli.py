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
