"""Imports from the licensing system and checkout purchases, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.desk.actions import ActionError
from models.policy.imports import add_purchase, import_purchases, import_rows
from models.store.db import Store
from models.store.tables import (
    Customer,
    CustomerAddress,
    HostedSubscription,
    License,
    MsTerm,
    Partnership,
    Product,
    Ticket,
)

CUSTOMERS_CSV = (
    "email,name,organization,timezone,other_emails\n"
    "Jo@Customer.example,Jo Customer,Customer Inc,Europe/Berlin,"
    "jo.alias@customer.example; ops@customer.example\n"
    "ann@shop.example,Ann Shop,,,\n"
)

LICENSES_JSONL = [
    {
        "key": "ACME-2024-0001",
        "customer_email": "jo@customer.example",
        "product": "Helpdesk Server",
        "product_latest_version": "6.1",
        "version_in_use": "6.0",
        "purchased_on": "2024-02-29",
    },
    {
        "key": "acme-2023-0007",
        "customer_email": "ann@shop.example",
        "product": "Helpdesk Server",
        "version_in_use": "5.2",
        "purchased_on": "2023-05-10",
        "renewals": "renewal:2024-05-10:2025-05-09;reinstatement:2025-08-01:2026-07-31",
    },
]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(tmp_path: Path, name: str, rows: list[dict[str, object]]) -> Path:
    return _write(tmp_path, name, "\n".join(json.dumps(r) for r in rows) + "\n")


def _count(store: Store, table: type) -> int:
    with store.session() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def _customers(store: Store, tmp_path: Path) -> None:
    report = import_rows(store, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV))
    assert report.ok, report.errors


def test_customers_import_and_upsert(store: Store, tmp_path: Path) -> None:
    report = import_rows(store, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV))
    assert (report.created, report.updated, report.unchanged, report.errors) == (2, 0, 0, [])
    with store.session() as s:
        jo = s.execute(
            select(Customer).where(col(Customer.email) == "jo@customer.example")
        ).scalar_one()
        addresses = sorted(
            a.email
            for a in s.execute(
                select(CustomerAddress).where(col(CustomerAddress.customer_id) == jo.id)
            ).scalars()
        )
    assert addresses == ["jo.alias@customer.example", "jo@customer.example", "ops@customer.example"]
    assert (jo.organization, jo.timezone) == ("Customer Inc", "Europe/Berlin")
    again = import_rows(store, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = CUSTOMERS_CSV.replace(
        "Ann Shop,,,", "Ann Shop-Smith,,America/Phoenix,ann@home.example"
    )
    third = import_rows(store, "customers", _write(tmp_path, "c.csv", changed))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert "name" in third.changes[0] and "+ann@home.example" in third.changes[0]
    assert _count(store, Customer) == 2 and _count(store, CustomerAddress) == 5


def test_bad_rows_are_reported_with_line_numbers_and_nothing_changes(
    store: Store, tmp_path: Path
) -> None:
    text = (
        "email,name,organization,timezone,other_emails\n"
        "good@x.example,Good,,,\n"
        "not-an-email,Bad,,,\n"
        "tz@x.example,TZ,,Mars/Olympus,\n"
        ",Nameless,,,\n"
        "GOOD@x.example,Twice,,,\n"
    )
    report = import_rows(store, "customers", _write(tmp_path, "c.csv", text))
    assert not report.ok and not report.applied
    assert [row for row, _ in report.errors] == [3, 4, 5, 6]
    messages = dict(report.errors)
    assert "not an email address" in messages[3]
    assert "IANA" in messages[4]
    assert "email is required" in messages[5]
    assert "same customers entry as row 2" in messages[6]
    assert report.summary() == "customers: 4 bad rows, nothing imported"
    assert _count(store, Customer) == 0


def test_dry_run_counts_and_changes_nothing(store: Store, tmp_path: Path) -> None:
    report = import_rows(store, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV), dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.ok and not report.applied and "dry run" in report.summary()
    assert _count(store, Customer) == 0 and _count(store, CustomerAddress) == 0


def test_address_of_another_customer_is_an_error(store: Store, tmp_path: Path) -> None:
    _customers(store, tmp_path)
    text = "email,name,other_emails\nann@shop.example,Ann,jo.alias@customer.example\n"
    report = import_rows(store, "customers", _write(tmp_path, "c2.csv", text))
    assert report.errors == [(2, "address jo.alias@customer.example belongs to another customer")]


def test_licenses_with_terms(store: Store, tmp_path: Path) -> None:
    _customers(store, tmp_path)
    report = import_rows(store, "licenses", _jsonl(tmp_path, "l.jsonl", LICENSES_JSONL))
    assert (report.created, report.errors) == (2, [])
    with store.session() as s:
        leap = s.execute(select(License).where(col(License.key) == "ACME-2024-0001")).scalar_one()
        ann = s.execute(select(License).where(col(License.key) == "ACME-2023-0007")).scalar_one()
        terms = sorted(
            (t.kind, t.starts_on, t.ends_on)
            for t in s.execute(select(MsTerm).where(col(MsTerm.license_id) == ann.id)).scalars()
        )
        product = s.execute(select(Product)).scalar_one()
    assert leap.ms_expires_on == "2025-02-28"  # leap-day purchase: 12 months minus a day
    assert ann.ms_expires_on == "2026-07-31"
    assert terms == [
        ("purchase", "2023-05-10", "2024-05-09"),
        ("reinstatement", "2025-08-01", "2026-07-31"),
        ("renewal", "2024-05-10", "2025-05-09"),
    ]
    assert product.latest_version == "6.1"
    again = import_rows(store, "licenses", _jsonl(tmp_path, "l.jsonl", LICENSES_JSONL))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    LICENSES_JSONL[0]["ms_expires_on"] = "2026-02-28"
    try:
        third = import_rows(store, "licenses", _jsonl(tmp_path, "l.jsonl", LICENSES_JSONL))
    finally:
        del LICENSES_JSONL[0]["ms_expires_on"]
    assert (third.updated, third.unchanged) == (1, 1)
    with store.session() as s:
        leap = s.execute(select(License).where(col(License.key) == "ACME-2024-0001")).scalar_one()
    assert leap.ms_expires_on == "2026-02-28"
    assert _count(store, MsTerm) == 4


def test_bad_license_rows(store: Store, tmp_path: Path) -> None:
    _customers(store, tmp_path)
    rows: list[dict[str, object]] = [
        {
            "key": "short",
            "customer_email": "jo@customer.example",
            "product": "P",
            "product_latest_version": "1",
            "version_in_use": "1",
            "purchased_on": "2025-01-01",
        },
        {
            "key": "ABCD-EFGH-IJKL",
            "customer_email": "nobody@x.example",
            "product": "P",
            "product_latest_version": "1",
            "version_in_use": "1",
            "purchased_on": "2025-01-01",
        },
        {
            "key": "ABCD-EFGH-IJK2",
            "customer_email": "jo@customer.example",
            "product": "New",
            "version_in_use": "1",
            "purchased_on": "2025-01-01",
        },
        {
            "key": "ABCD-EFGH-IJK3",
            "customer_email": "jo@customer.example",
            "product": "P",
            "product_latest_version": "1",
            "version_in_use": "1",
            "purchased_on": "2025-13-01",
        },
        {
            "key": "ABCD-EFGH-IJK4",
            "customer_email": "jo@customer.example",
            "product": "P",
            "product_latest_version": "1",
            "version_in_use": "1",
            "purchased_on": "2025-01-01",
            "renewals": "upgrade:2026-01-01:2026-12-31",
        },
    ]
    path = _jsonl(tmp_path, "l.jsonl", rows)
    path.write_text(path.read_text() + "{not json\n")
    report = import_rows(store, "licenses", path)
    assert [row for row, _ in report.errors] == [1, 2, 3, 4, 5, 6]
    messages = dict(report.errors)
    assert "not a license key" in messages[1]
    assert "not a known customer" in messages[2]
    assert "product_latest_version is required" in messages[3]
    assert "not a date" in messages[4]
    assert "renewal|reinstatement" in messages[5]
    assert "not JSON" in messages[6]
    assert _count(store, License) == 0 and _count(store, Product) == 0


def test_hosted_and_partners(store: Store, tmp_path: Path) -> None:
    _customers(store, tmp_path)
    hosted = "customer_email,starts_on,ends_on\njo@customer.example,2025-01-01,\n"
    assert import_rows(store, "hosted", _write(tmp_path, "h.csv", hosted)).created == 1
    ended = hosted.replace("2025-01-01,", "2025-01-01,2025-12-31")
    report = import_rows(store, "hosted", _write(tmp_path, "h.csv", ended))
    assert (report.created, report.updated) == (0, 1)
    partners = (
        "customer_email,starts_on,ends_on,tier\n"
        "ann@shop.example,2025-01-01,,gold\n"
        "ann@shop.example,2026-01-01,2025-01-01,silver\n"
    )
    bad = import_rows(store, "partners", _write(tmp_path, "p.csv", partners))
    assert bad.errors == [(3, "ends_on is before starts_on")]
    good = import_rows(
        store,
        "partners",
        _write(tmp_path, "p.csv", partners.splitlines(True)[0] + partners.splitlines(True)[1]),
    )
    assert good.created == 1
    with store.session() as s:
        assert s.execute(select(HostedSubscription)).scalar_one().ends_on == "2025-12-31"
        assert s.execute(select(Partnership)).scalar_one().tier == "gold"


def test_unknown_kind_and_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        import_rows(store, "products", tmp_path / "x.csv")
    report = import_rows(store, "customers", tmp_path / "missing.csv")
    assert report.errors and report.errors[0][0] == 0


# --------------------------------------------------------------------------- purchases

AT = 1_768_503_600.0  # 2026-01-15 19:00 UTC


def test_emergency_purchase(store: Store, tmp_path: Path) -> None:
    _customers(store, tmp_path)
    import_rows(store, "licenses", _jsonl(tmp_path, "l.jsonl", LICENSES_JSONL))
    number = add_purchase(
        store,
        "emergency",
        "JO@customer.example",
        "acme-2024-0001",
        "Server down",
        "Everything is down",
        AT,
    )
    with store.session() as s:
        ticket = s.get(Ticket, number)
    assert ticket is not None
    assert (ticket.kind, ticket.entitlement, ticket.received_at) == ("emergency", "purchase", AT)
    assert ticket.license_id is not None and ticket.customer_id is not None
    assert "non-refundable" in (ticket.entitlement_note or "")
    assert "1-hour" in (ticket.entitlement_note or "")
    with pytest.raises(ActionError, match="not known"):
        add_purchase(store, "training", "jo@customer.example", "NOPE-NOPE-NOPE", "s", "", AT)
    with pytest.raises(ActionError, match="another customer"):
        add_purchase(store, "training", "ann@shop.example", "ACME-2024-0001", "s", "", AT)
    with pytest.raises(ActionError, match="kind"):
        add_purchase(store, "standard", "ann@shop.example", None, "s", "", AT)


def test_purchase_import_is_atomic_and_idempotent(store: Store, tmp_path: Path) -> None:
    _customers(store, tmp_path)
    rows: list[dict[str, object]] = [
        {
            "kind": "training",
            "customer": "ann@shop.example",
            "subject": "Admin training",
            "body": "Two people",
            "at": "2026-01-15T10:00:00-07:00",
            "order": "W-1001",
        },
        {
            "kind": "installation",
            "customer": "new.buyer@else.example",
            "subject": "Install",
            "order": "W-1002",
        },
        {"kind": "emergency", "customer": "ann@shop.example", "subject": "", "order": "W-1003"},
    ]
    bad = import_purchases(store, _jsonl(tmp_path, "p.jsonl", rows), now=AT)
    assert bad.errors == [(3, "subject is required")] and _count(store, Ticket) == 0
    rows[2]["subject"] = "Down"
    good = import_purchases(store, _jsonl(tmp_path, "p.jsonl", rows), now=AT)
    assert (good.created, good.errors) == (3, [])
    again = import_purchases(store, _jsonl(tmp_path, "p.jsonl", rows), now=AT)
    assert (again.created, again.unchanged) == (0, 3)
    with store.session() as s:
        tickets = list(s.execute(select(Ticket).order_by(col(Ticket.number))).scalars())
    assert [t.kind for t in tickets] == ["training", "installation", "emergency"]
    assert tickets[0].received_at == 1_768_496_400.0
    assert tickets[1].customer_id is None and tickets[2].received_at == AT
