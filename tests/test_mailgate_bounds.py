"""The gateway's own MIME split (models.mail.mailparse.split_message): bounded whatever the headers
say, and reading ordinary and mutated mail exactly as the stdlib parser does."""

from __future__ import annotations

from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.mail import mailparse
from models.mail.limits import MAX_HEADER_FIELDS, MAX_MIME_DEPTH, MAX_MIME_PARTS
from models.mail.mailparse import Unusable, parse_message
from tests.test_mailgate_fuzz import CORPUS, mutated

HEAD = b"From: Mallory <mallory@attacker.example>\r\nSubject: shapes\r\n"


def _parsed(raw: bytes) -> object:
    try:
        return parse_message(raw)
    except Unusable as exc:
        return ("unusable", exc.reason)


def _stdlib(raw: bytes) -> object:
    return BytesParser(policy=mailparse.POLICY).parsebytes(raw)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=st.sampled_from(CORPUS) | mutated())
def test_split_reads_mail_exactly_as_the_stdlib_parser(raw: bytes) -> None:
    ours = _parsed(raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mailparse, "split_message", _stdlib)
        stdlib = _parsed(raw)
    assert ours == stdlib


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # header-less parts: no "Content-Type:" to count (the old pre-count let 20k through)
        (
            HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            + b"--b\r\n\r\nx\r\n" * 20_000 + b"--b--\r\n",
            f"more than {MAX_MIME_PARTS} MIME parts",
        ),
        # a digest: header-less parts become message/rfc822, two objects each
        (
            HEAD + b'Content-Type: multipart/digest; boundary="b"\r\n\r\n'
            + b"--b\r\n\r\nx\r\n" * 20_000 + b"--b--\r\n",
            f"more than {MAX_MIME_PARTS} MIME parts",
        ),
        (
            HEAD + b"Content-Type: message/rfc822\r\n\r\n" * (MAX_MIME_DEPTH + 5) + b"\r\nhi\r\n",
            "nested too deeply",
        ),
        (
            HEAD + b"X-H: v\r\n" * (MAX_HEADER_FIELDS + 1) + b"\r\nbody\r\n",
            f"more than {MAX_HEADER_FIELDS} header fields",
        ),
    ],
    ids=["headerless-parts", "headerless-digest", "deep-rfc822", "many-headers"],
)  # fmt: skip
def test_hostile_shapes_are_unusable_whatever_their_headers(raw: bytes, reason: str) -> None:
    with pytest.raises(Unusable, match=reason):
        parse_message(raw)


def test_a_huge_content_type_is_cut_before_it_is_parsed() -> None:
    """policy.default's parameter parser is quadratic: 20k parameters took minutes."""
    params = b"".join(b"; p%d=v" % n for n in range(20_000))
    mail = parse_message(HEAD + b"Content-Type: text/plain" + params + b"\r\n\r\nbody\r\n")
    assert mail.body == "body"


def test_parts_just_under_the_limits_are_read() -> None:
    raw = (
        HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"--b\r\n\r\nline\r\n" * (MAX_MIME_PARTS - 1) + b"--b--\r\n"
    )  # fmt: skip
    assert parse_message(raw).body.count("line") == MAX_MIME_PARTS - 1
