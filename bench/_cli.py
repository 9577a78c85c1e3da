"""What the bench scripts share: how to run the installed `shiftdesk` command, and an environment
without the caller's SHIFTDESK_* settings (each bench passes its own store)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def command() -> list[str]:
    script = Path(sys.executable).with_name("shiftdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}
