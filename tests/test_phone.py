"""The phone-request detector: what flags a ticket, and what must not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.mail import phone
from models.mail.phone import detect_phone_request

ASKS = [
    "Please call me as soon as possible.",
    "Could you call me back this afternoon?",
    "Can someone please call us? We are stuck.",
    "Give me a call when you can.",
    "Give us a ring tomorrow.",
    "Ring me on my mobile.",
    "Please phone me, email is too slow.",
    "Can we talk about this?",
    "Could we speak briefly?",
    "I'd like to talk to a real person.",
    "Is it possible to discuss this by phone?",
    "We would prefer to go over it on the phone.",
    "Do you offer phone support for this?",
    "Can we schedule a call for Tuesday?",
    "A quick call would save us both time.",
    "My cell number is below.",
    "You can reach me at the office.",
    "Call me at +1 555 123 4567",
    "My number: +44 20 7946 0958",
    "Here it is: (555) 123-4567",
    "555-123-4567 works all day",
    "Tel: 0301234567",
    "Phone: +49 30 1234567",
    "by telephone if possible",
]

NOT_ASKS = [
    "",
    "The app crashes on my iPhone 15 when I save.",
    "The agent tries to phone home to the license server and times out.",
    "The phone number field in the customer form does not validate.",
    "The API call fails with a 500 error.",
    "A recursive function call overflows the stack.",
    "I recall we had this issue before.",
    "Please see the attached log from 2024-03-15.",
    "Server 192.168.100.200 cannot be reached.",
    "We are on version 10.2.33.4567 of the product.",
    "Order 1234567890 was charged twice.",
    "Our license key is ABCD-1234-EFGH-5678.",
    "The ring buffer overflows under load.",
    "Smartphone users see a blank page.",
    "We will call the function again after the fix.",
    "Error code 0x80070005 on install.",
    "Invoice INV-2024-000123 is attached.",
]


@pytest.mark.parametrize("text", ASKS)
def test_requests_for_a_call_are_detected(text: str) -> None:
    assert detect_phone_request(text)


@pytest.mark.parametrize("text", NOT_ASKS)
def test_ordinary_text_is_not_a_request(text: str) -> None:
    assert not detect_phone_request(text)


def test_request_buried_in_a_long_message() -> None:
    body = "Hello,\n\n" + "The export fails with a timeout.\n" * 50 + "\nCall me back please.\n"
    assert detect_phone_request(body)


# The word pre-check must never hide a match the full patterns find: compare with the patterns
# alone on text built from their words, in every case, with the letters re.IGNORECASE folds oddly.
_PIECES = [
    "call", "CALL", "ring", "phone", "tele", "buzz", "talk", "speak", "chat", "cell", "mobile",
    "direct", "reach", "tel", "me", "us", "back", "can", "you", "we", "i", "give", "a", "my",
    "number", "is", "at", "on", "by", "quick", "schedule", "someone", ":", "+1", "5", " ", "\n",
    "\u0130", "\u0131", "\u017f", "\u212a", "ſpeak", "rİng", "caLL", "ſchedule",
]  # fmt: skip


@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
@settings(max_examples=500)
def test_word_precheck_never_hides_a_match(text: str) -> None:
    full = bool(phone._PHRASES.search(text) or phone._LABELLED.search(text))
    assert phone._asks_in_words(text) == full


@pytest.mark.parametrize("text", ["Please ſpeak to someone", "Can we tal\u212a?", "rİng me"])
def test_letters_ignorecase_folds_oddly_still_count(text: str) -> None:
    assert detect_phone_request(text)


# --------------------------------------------------------------------------- one local-time parser


@pytest.mark.parametrize(
    ("text", "zone", "reason"),
    [
        ("2026-03-29 02:30", "Europe/Berlin", "does not exist in Europe/Berlin"),
        ("2026-03-08 02:30", "America/New_York", "does not exist in America/New_York"),
        ("2026-10-25 02:30", "Europe/Berlin", "happens twice in Europe/Berlin"),
        ("2026-11-01 01:30", "America/New_York", "happens twice in America/New_York"),
    ],
)
def test_phone_schedule_and_rsaa_agree_on_dst_changes(text: str, zone: str, reason: str) -> None:
    """The call time (phone form), the session time (schedule) and the RSAA's accepted-at all
    read a local time the same way: a skipped or repeated local time is refused, not moved."""
    from models.desk.actions import ActionError
    from models.desk.rsaa import parse_accepted_at
    from models.desk.triage import local_to_epoch
    from tui.widgets.forms import parse_wall_minute

    with pytest.raises(ValueError, match=reason):
        parse_wall_minute(text, zone)
    with pytest.raises(ActionError, match=reason):
        local_to_epoch(text, zone)
    with pytest.raises(ValueError, match=reason):
        parse_accepted_at(text, zone)


def test_an_offset_settles_a_repeated_hour() -> None:
    from tui.widgets.forms import parse_wall_minute

    first = parse_wall_minute("2026-10-25 02:30+02:00", "Europe/Berlin")
    second = parse_wall_minute("2026-10-25 02:30+01:00", "Europe/Berlin")
    assert second - first == 3600
