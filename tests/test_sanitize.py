from hypothesis import given
from hypothesis import strategies as st

from models.policy.sanitize import safe_line, safe_text


def test_escape_sequences_are_made_visible() -> None:
    hostile = "hi\x1b]52;c;ZXZpbA==\x07 \x1b[2J\x9b31m"
    shown = safe_line(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "␛]52;c;ZXZpbA==␇" in shown
    assert "<U+009B>" in shown


def test_markup_is_left_alone_as_text() -> None:
    assert safe_line("[bold red]x[/]") == "[bold red]x[/]"


def test_body_keeps_lines_but_not_carriage_returns() -> None:
    assert safe_text("a\r\nb\rc") == "a\nb␍c"


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    for out in (safe_text(text), safe_line(text)):
        assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in out)
