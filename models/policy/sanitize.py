"""Customer text is hostile: make it safe to put on a terminal, shown literally.

Rich markup is never interpreted (widgets render `rich.text.Text`, never markup strings), and
this module removes what would reach the terminal as a control sequence: C0 controls (ESC, BEL,
backspace, carriage return ...), DEL, C1 controls (U+0080–U+009F, e.g. the 8-bit CSI/OSC) and
bidirectional overrides. Each is shown as a visible placeholder so nothing is silently hidden.
"""

from __future__ import annotations

import re

# Tab and newline are handled by the caller (one-line cells flatten them; bodies keep newlines).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␛ for ESC, ␇ for BEL
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def safe_text(text: str | None) -> str:
    """Multi-line text with every control character made visible (newlines and tabs kept)."""
    if not text:
        return ""
    return _CONTROL.sub(_visible, text.replace("\r\n", "\n"))


def safe_line(text: str | None) -> str:
    """One line for a table cell: whitespace runs (newlines, tabs) become one space."""
    return " ".join(safe_text(text).split())
