"""models.policy.entitlement: M&S date edges, the entitlement decision, notices, version order."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace as Row

import pytest

from models.policy.entitlement import (
    add_months,
    entitlement_at,
    is_older,
    ms_covered,
    ms_status,
    notices,
    purchase_term_end,
    version_key,
)

D = dt.date.fromisoformat


def term(kind: str, start: str, end: str) -> Row:
    return Row(kind=kind, starts_on=start, ends_on=end)


def lic(
    key: str = "ABCD-EFGH-IJKL",
    lid: int = 1,
    purchased: str = "2025-03-15",
    expires: str = "2026-03-14",
    version: str = "5.2",
) -> Row:
    return Row(
        id=lid, key=key, purchased_on=purchased, ms_expires_on=expires, version_in_use=version
    )


PURCHASE = [term("purchase", "2025-03-15", "2026-03-14")]


def test_purchase_covers_twelve_months_minus_a_day() -> None:
    assert purchase_term_end("2025-03-15") == D("2026-03-14")
    assert purchase_term_end("2025-01-31") == D("2026-01-30")


def test_leap_day_purchase_ends_on_28_february() -> None:
    assert add_months(D("2024-02-29"), 12) == D("2025-03-01")
    assert purchase_term_end("2024-02-29") == D("2025-02-28")
    assert purchase_term_end("2024-02-29", months=48) == D("2028-02-28")
    terms = [term("purchase", "2024-02-29", "2025-02-28")]
    assert ms_covered(terms, "2025-02-28")
    assert not ms_covered(terms, "2025-03-01")


def test_expiry_day_is_covered_and_the_day_after_is_not() -> None:
    assert ms_covered(PURCHASE, "2026-03-14")
    assert ms_status(None, PURCHASE, "2026-03-14") == (True, D("2026-03-14"))
    assert not ms_covered(PURCHASE, "2026-03-15")
    assert ms_status(None, PURCHASE, "2026-03-15") == (False, D("2026-03-15"))


def test_first_day_covered_and_before_start() -> None:
    assert ms_covered(PURCHASE, D("2025-03-15"))
    assert not ms_covered(PURCHASE, "2025-03-14")
    assert ms_status(None, PURCHASE, "2025-03-14") == (False, None)


def test_renewal_before_expiry_is_contiguous() -> None:
    terms = [*PURCHASE, term("renewal", "2026-03-15", "2027-03-14")]
    assert ms_status(None, terms, "2025-06-01") == (True, D("2027-03-14"))
    assert ms_status(None, terms, "2026-03-15") == (True, D("2027-03-14"))
    assert ms_status(None, terms, "2027-03-15") == (False, D("2027-03-15"))


def test_lapsed_then_reinstated_leaves_a_gap() -> None:
    terms = [*PURCHASE, term("reinstatement", "2026-06-01", "2027-05-31")]
    assert ms_status(None, terms, "2026-04-01") == (False, D("2026-03-15"))
    assert not ms_covered(terms, "2026-05-31")
    assert ms_status(None, terms, "2026-06-01") == (True, D("2027-05-31"))
    assert ms_status(None, terms, "2027-06-01") == (False, D("2027-06-01"))


def test_license_without_terms_uses_its_own_dates() -> None:
    assert ms_status(lic(), [], "2026-03-14") == (True, D("2026-03-14"))
    assert ms_status(lic(), [], "2026-03-15") == (False, D("2026-03-15"))


CUSTOMER = Row(id=7, email="jo@customer.example")


def test_unknown_sender_is_not_entitled() -> None:
    decision = entitlement_at(None, [], [], [], "2026-01-01")
    assert decision.basis == "none" and not decision.entitled
    assert "not a known customer" in decision.reason


def test_only_active_license_is_the_basis() -> None:
    decision = entitlement_at(CUSTOMER, [(lic(), PURCHASE)], [], [], "2026-03-14")
    assert (decision.basis, decision.license_id) == ("license", 1)


def test_lapsed_license_reason_names_the_date() -> None:
    decision = entitlement_at(CUSTOMER, [(lic(), PURCHASE)], [], [], "2026-04-02")
    assert decision.basis == "none"
    assert decision.reason == "Maintenance and Support lapsed on 2026-03-15"


def test_key_selects_the_license() -> None:
    other = lic("WXYZ-WXYZ-WXYZ", 2)
    lapsed_terms = [term("purchase", "2020-01-01", "2020-12-31")]
    licenses = [(lic(), PURCHASE), (other, lapsed_terms)]
    keyed = entitlement_at(CUSTOMER, licenses, [], [], "2026-01-01", "wxyz-wxyz-wxyz")
    assert keyed.basis == "none"
    assert keyed.reason == "Maintenance and Support for license WXYZ-WXYZ-WXYZ lapsed on 2021-01-01"
    good = entitlement_at(CUSTOMER, licenses, [], [], "2026-01-01", "ABCD-EFGH-IJKL")
    assert (good.basis, good.license_id) == ("license", 1)
    unkeyed = entitlement_at(CUSTOMER, licenses, [], [], "2026-01-01")
    assert (unkeyed.basis, unkeyed.license_id) == ("license", 1)


def test_several_active_licenses_without_key() -> None:
    licenses = [(lic(), PURCHASE), (lic("WXYZ-WXYZ-WXYZ", 2), PURCHASE)]
    decision = entitlement_at(CUSTOMER, licenses, [], [], "2026-01-01")
    assert (decision.basis, decision.license_id) == ("license", None)


def test_hosted_and_partner_fallbacks() -> None:
    hosted = [Row(starts_on="2025-01-01", ends_on=None)]
    partner = [Row(starts_on="2025-01-01", ends_on="2026-12-31", tier="gold")]
    lapsed = [(lic(), PURCHASE)]
    assert entitlement_at(CUSTOMER, lapsed, hosted, [], "2027-01-01").basis == "hosted"
    assert entitlement_at(CUSTOMER, lapsed, [], partner, "2026-12-31").basis == "partner"
    ended = entitlement_at(CUSTOMER, [], [], partner, "2027-01-01")
    assert ended.basis == "none" and ended.reason == "the partnership ended on 2026-12-31"
    ended_hosted = entitlement_at(
        CUSTOMER, [], [Row(starts_on="2025-01-01", ends_on="2025-06-30")], [], "2026-01-01"
    )
    assert ended_hosted.reason == "the hosted subscription ended on 2025-06-30"
    assert "no license" in entitlement_at(CUSTOMER, [], [], [], "2026-01-01").reason


@pytest.mark.parametrize(
    ("older", "newer"),
    [("9.2", "10.0"), ("1.2", "1.10"), ("2.0", "2.0.1"), ("v3.1", "3.2"), ("4.0-rc1", "4.1")],
)
def test_versions_compare_numerically(older: str, newer: str) -> None:
    assert is_older(older, newer)
    assert not is_older(newer, older)


def test_trailing_zeros_are_equal() -> None:
    assert version_key("2.0") == version_key("2.0.0")
    assert not is_older("2.0.0", "2")


def test_notices_for_active_current_standard_ticket() -> None:
    texts = [
        n.text
        for n in notices(
            "standard",
            lic(version="6.0"),
            Row(latest_version="6.0"),
            PURCHASE,
            [],
            [],
            "2026-01-01",
        )
    ]
    assert texts == ["M&S active until 2026-03-14"]


def test_notices_for_lapsed_legacy_emergency() -> None:
    result = notices(
        "emergency",
        lic(version="5.2"),
        Row(latest_version="6.1"),
        PURCHASE,
        [Row(starts_on="2025-01-01", ends_on="2025-12-31")],
        [Row(starts_on="2025-01-01", ends_on=None, tier=None)],
        "2026-04-01",
    )
    texts = [n.text for n in result]
    assert texts == [
        "M&S lapsed on 2026-03-15 — community support only: ask to reinstate",
        "hosted subscription ended on 2025-12-31",
        "partnership active",
        "version 5.2 in use, latest is 6.1 — hotfixes only in the latest version",
        "a bug fix requires updating to 6.1",
        "emergency: non-refundable; 1-hour initial response",
    ]
    assert result[0].level == "warning"


def test_emergency_notice_without_license() -> None:
    texts = [n.text for n in notices("emergency", None, None, [], [], [], "2026-01-01")]
    assert texts == ["emergency: non-refundable; 1-hour initial response"]
