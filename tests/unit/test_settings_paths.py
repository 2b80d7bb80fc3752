"""Every file the platform writes defaults to a place under RUAI_DATA_DIR (issue 25: the query log
and conversations.sqlite3 landed in the checkout's ./data whatever RUAI_DATA_DIR said)."""

from __future__ import annotations

from pathlib import Path

from ruai.settings import DATA_PATHS, Settings


def test_paths_default_under_the_data_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUAI_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.data_dir == tmp_path
    for name, relative in DATA_PATHS.items():
        assert getattr(settings, name) == tmp_path / relative


def test_a_path_of_its_own_wins_and_the_default_is_dot_data(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RUAI_DATA_DIR", raising=False)
    monkeypatch.setenv("RUAI_QUERY_LOG_DIR", str(tmp_path / "elsewhere"))
    settings = Settings(conversations_path=tmp_path / "c.sqlite3")
    assert settings.query_log_dir == tmp_path / "elsewhere"
    assert settings.conversations_path == tmp_path / "c.sqlite3"
    assert settings.qdrant_path == Path("data/qdrant")
    assert settings.registry_dir == Path("data/registry")
