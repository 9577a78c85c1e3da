"""Where shiftdesk keeps its files (the one module that knows)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "shiftdesk"


def data_dir() -> Path:
    return platformdirs.user_data_path(APP)


def config_file() -> Path:
    return platformdirs.user_config_path(APP) / "config.toml"


def default_db_url() -> str:
    path = data_dir() / "shiftdesk.db"
    return f"sqlite:///{path}"


def migrations_dir() -> Path:
    return Path(__file__).resolve().parent / "migrations"
