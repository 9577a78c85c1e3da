"""models/ never imports Textual, and scripting commands don't load it either."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import models

ROOT = Path(__file__).resolve().parent.parent


def test_models_do_not_import_textual() -> None:
    names = [
        m.name
        for m in pkgutil.walk_packages(models.__path__, prefix="models.")
        if ".migrations" not in m.name
    ]
    assert len(names) > 35  # every subpackage's modules, not just the package names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_textual_import_statement_in_models() -> None:
    for path in (ROOT / "models").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import textual" not in text and "from textual" not in text, path


def test_scripting_commands_do_not_load_textual() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tui.cli.core import main\n"
        "r = CliRunner().invoke(main, ['sla', '--received', '2024-03-01T16:00', '--at',"
        " '2024-03-02T12:00'])\n"
        "assert r.exit_code == 0, r.output\n"
        "CliRunner().invoke(main, ['--help'])\n"
        "sys.exit(1 if 'textual' in sys.modules else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
