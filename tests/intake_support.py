"""Shared builders for the intake tests: seeded customers/licenses and a message corpus."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from models.policy.config import Config
from models.store.db import Store
from models.store.tables import (
    Customer,
    CustomerAddress,
    HostedSubscription,
    License,
    MsTerm,
    Partnership,
    Product,
)

CONFIG = Config()
# 2026-01-15 19:00 UTC = 12:00 in America/Phoenix (the default calendar zone)
RECEIVED = dt.datetime(2026, 1, 15, 19, 0, tzinfo=dt.UTC).timestamp()
ACTIVE_KEY = "ACME-2024-0001"
LAPSED_KEY = "ACME-2020-0042"


def seed(store: Store) -> dict[str, int]:
    """jo@customer.example: one active license (+ an alias address); lapsed@old.example: M&S
    lapsed on 2025-03-01; hosted@cloud.example: hosted only; partner@reseller.example."""
    ids: dict[str, int] = {}
    with store.transaction() as s:
        product = Product(name="Helpdesk Server", latest_version="6.1")
        s.add(product)
        s.flush()
        for key, email, name in [
            ("jo", "jo@customer.example", "Jo Customer"),
            ("lapsed", "lapsed@old.example", "Lapsed Co"),
            ("hosted", "hosted@cloud.example", "Hosted Co"),
            ("partner", "partner@reseller.example", "Reseller"),
        ]:
            customer = Customer(name=name, email=email, created_at=0.0, timezone="Europe/Berlin")
            s.add(customer)
            s.flush()
            assert customer.id is not None
            ids[key] = customer.id
            s.add(CustomerAddress(customer_id=customer.id, email=email))
        s.add(CustomerAddress(customer_id=ids["jo"], email="jo.alias@customer.example"))
        active = License(
            key=ACTIVE_KEY,
            customer_id=ids["jo"],
            product_id=product.id or 0,
            version_in_use="6.1",
            purchased_on="2025-06-01",
            ms_expires_on="2026-05-31",
        )
        lapsed = License(
            key=LAPSED_KEY,
            customer_id=ids["lapsed"],
            product_id=product.id or 0,
            version_in_use="5.0",
            purchased_on="2024-03-01",
            ms_expires_on="2025-02-28",
        )
        s.add_all([active, lapsed])
        s.flush()
        assert active.id is not None and lapsed.id is not None
        ids["active_license"], ids["lapsed_license"] = active.id, lapsed.id
        s.add(
            MsTerm(
                license_id=active.id, kind="purchase", starts_on="2025-06-01", ends_on="2026-05-31"
            )
        )
        s.add(
            MsTerm(
                license_id=lapsed.id, kind="purchase", starts_on="2024-03-01", ends_on="2025-02-28"
            )
        )
        s.add(HostedSubscription(customer_id=ids["hosted"], starts_on="2025-01-01"))
        s.add(Partnership(customer_id=ids["partner"], starts_on="2025-01-01", tier="gold"))
    return ids


def plain(
    body: str = "Our server crashes when saving.",
    *,
    sender: str = "Jo Customer <jo@customer.example>",
    subject: str = "Crash on save",
    message_id: str | None = "<m1@customer.example>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Date"] = "Thu, 15 Jan 2026 12:00:00 -0700"
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def alternative(text: str, html: str, *, cte: str = "quoted-printable") -> bytes:
    msg = EmailMessage()
    msg["From"] = "jo@customer.example"
    msg["Subject"] = "Alternative"
    msg["Message-ID"] = "<alt@customer.example>"
    msg.set_content(text, cte=cte)
    msg.add_alternative(html, subtype="html", cte=cte)
    return msg.as_bytes()


def html_only(html: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "jo@customer.example"
    msg["Subject"] = "HTML only"
    msg.set_content(html, subtype="html", cte="base64")
    return msg.as_bytes()


def with_attachment(data: bytes, filename: str = "log.txt.gz") -> bytes:
    msg = EmailMessage()
    msg["From"] = "jo@customer.example"
    msg["Subject"] = "Logs attached"
    msg.set_content("See the attached logs.")
    msg.add_attachment(data, maintype="application", subtype="gzip", filename=filename)
    return msg.as_bytes()


def forwarded() -> bytes:
    inner = EmailMessage()
    inner["From"] = "colleague@customer.example"
    inner["Subject"] = "Original problem"
    inner["Date"] = "Wed, 14 Jan 2026 09:00:00 +0100"
    inner.set_content("The export fails with error 42.")
    outer = EmailMessage()
    outer["From"] = "jo@customer.example"
    outer["Subject"] = "Fwd: Original problem"
    outer.set_content("Forwarding this, please help.")
    outer.add_attachment(inner)  # message/rfc822
    return outer.as_bytes()


def bounce() -> bytes:
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        b"To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.customer.example\r\n\r\nStatus: 5.1.1\r\n"
        b"--b1--\r\n"
    )


def raw_latin1_declared_utf8() -> bytes:
    return (
        b"From: jo@customer.example\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Gr\xfc\xdfe aus M\xfcnchen\r\n"
    )


def raw_unknown_charset() -> bytes:
    return (
        b"From: jo@customer.example\r\nSubject: odd charset\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nhello \xff\xfe world\r\n"
    )
