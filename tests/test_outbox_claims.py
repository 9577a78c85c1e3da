"""Outbox hardening: `--flush` attempts everything, per-message leases, addresses in the config.

Real SMTP (aiosmtpd on 127.0.0.1), real SQLite and PostgreSQL (the `db_url` / `store` fixtures).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select, update

from models.mail import outbox
from models.mail.outbox import deliver_all_due, deliver_due, enqueue
from models.policy.config import ConfigError, SmtpConfig, load_config
from models.store.db import Store
from models.store.tables import OutboxEntry
from tests.test_outbox_smtp import T0, Sink, free_port
from tui.cli.core import main


class SlowSink(Sink):
    """Takes `delay` seconds to accept each message, so a batch outlives a short lease."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def _serve(handler: Sink, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def sink(port: int) -> Iterator[Sink]:
    handler = Sink()
    controller = _serve(handler, port)
    yield handler
    controller.stop()


def _smtp(port: int, timeout: float = 5) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1", port=port, from_address="support@shiftdesk.example",
        timeout_seconds=timeout,
    )  # fmt: skip


def _backing_off(store: Store, count: int = 1) -> None:
    """`count` queued messages whose last attempt failed: next try in 30 s."""
    with store.transaction() as s:
        for n in range(count):
            enqueue(s, to_address=f"c{n}@c.example", subject=f"s{n}", body="b", at=T0)
        s.execute(
            update(OutboxEntry).values(attempts=1, next_attempt_at=T0 + 30, last_error="SMTP x")
        )


async def test_flush_attempts_messages_that_are_backing_off(store: Store, port: int) -> None:
    _backing_off(store, 3)
    handler = Sink()
    controller = _serve(handler, port)
    try:
        assert (await deliver_all_due(store, _smtp(port), now=T0 + 5)).attempted == 0  # backoff
        report = await deliver_all_due(store, _smtp(port), now=T0 + 5, force=True)
    finally:
        controller.stop()
    assert (report.sent, report.retrying) == (3, 0)
    assert len(handler.messages) == 3


async def test_flush_tries_each_message_once_when_the_server_is_down(
    store: Store, port: int
) -> None:
    _backing_off(store, 3)  # nothing listens on `port`
    report = await deliver_all_due(store, _smtp(port), now=T0 + 5, force=True, batch=2)
    assert (report.sent, report.retrying) == (0, 3)
    with store.session() as s:
        attempts = s.execute(select(OutboxEntry.attempts)).scalars().all()  # type: ignore[call-overload]
    assert attempts == [2, 2, 2]


def test_outbox_flush_command_sends_a_backing_off_message(
    sqlite_url: str, tmp_path: Path, sink: Sink, port: int
) -> None:
    store = Store(sqlite_url)
    with store.transaction() as s:
        enqueue(s, to_address="jo@c.example", subject="s", body="b", at=time.time())
        s.execute(update(OutboxEntry).values(attempts=1, next_attempt_at=time.time() + 600))
    store.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "s@x.example"\n')
    result = CliRunner().invoke(
        main, ["outbox", "--flush", "--db", sqlite_url, "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0" in result.output and "outbox: empty" in result.output
    assert len(sink.messages) == 1


@pytest.mark.slow
async def test_a_batch_that_outlives_a_lease_is_not_sent_twice(
    db_url: str, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A's batch takes ~1.5 s (30 messages, 50 ms each) against leases of ~1.2 s; worker
    B starts after A's first lease ran out. Every message must arrive exactly once."""
    monkeypatch.setattr(outbox, "LEASE_EXTRA_SECONDS", 0.0)
    handler = SlowSink(delay=0.05)
    controller = _serve(handler, port)
    smtp = _smtp(port, timeout=0.3)
    first, second = Store(db_url), Store(db_url)
    try:
        with first.transaction() as s:
            for n in range(30):
                enqueue(s, to_address=f"c{n}@c.example", subject=f"s{n}", body="b", at=0.0)

        async def late_worker() -> outbox.DeliveryReport:
            await asyncio.sleep(1.3)
            return await deliver_all_due(second, smtp)

        reports = await asyncio.gather(deliver_due(first, smtp), late_worker())
    finally:
        controller.stop()
        first.dispose()
        second.dispose()
    counts = Counter(handler.ids())
    duplicated = sorted(n for n in counts.values() if n > 1)
    assert duplicated == [], f"{len(duplicated)} messages sent more than once"
    assert len(counts) == 30 and sum(r.sent for r in reports) == 30


@pytest.mark.parametrize(
    "sender",
    [
        "support@x.example\r\nBcc: victim@y.example",
        "support@x.example\nX: y",
        "not an address",
        "two@x.example, three@x.example",
        "@x.example",
    ],
)
def test_config_refuses_a_sender_that_is_not_one_address(tmp_path: Path, sender: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[smtp]\nfrom = "' + sender.replace("\r", "\\r").replace("\n", "\\n") + '"\n')
    with pytest.raises(ConfigError, match=r"smtp\.from"):
        load_config(path)


def test_config_accepts_a_display_name_sender(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[smtp]\nfrom = "Example Support <support@x.example>"\n')
    assert load_config(path).smtp.from_address == "Example Support <support@x.example>"


def test_outbox_flush_with_a_bad_sender_is_one_line_exit_2(
    sqlite_url: str, tmp_path: Path, sink: Sink, port: int
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "s@x.example\\r\\nBcc: v@y.example"\n'
    )
    store = Store(sqlite_url)
    with store.transaction() as s:
        enqueue(s, to_address="jo@c.example", subject="s", body="b", at=time.time())
    store.dispose()
    result = CliRunner().invoke(
        main, ["outbox", "--flush", "--db", sqlite_url, "--config", str(config)]
    )
    assert result.exit_code == 2, result.output
    assert "smtp.from" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_outbox_due_keeps_the_backoff_and_flush_and_due_exclude_each_other(
    sqlite_url: str, tmp_path: Path, sink: Sink, port: int
) -> None:
    store = Store(sqlite_url)
    with store.transaction() as s:
        enqueue(s, to_address="later@c.example", subject="s", body="b", at=time.time())
        s.execute(update(OutboxEntry).values(attempts=1, next_attempt_at=time.time() + 600))
        enqueue(s, to_address="now@c.example", subject="s", body="b", at=time.time())
    store.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "s@x.example"\n')
    common = ["--db", sqlite_url, "--config", str(config)]
    result = CliRunner().invoke(main, ["outbox", "--due", *common])
    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0" in result.output and "outbox: 1 waiting" in result.output
    assert [to for _, [to] in sink.envelopes] == ["now@c.example"]
    both = CliRunner().invoke(main, ["outbox", "--due", "--flush", *common])
    assert both.exit_code == 2 and "not both" in both.output


async def test_a_queued_header_no_message_can_carry_fails_that_message_only(
    store: Store, sink: Sink, port: int
) -> None:
    with store.transaction() as s:
        enqueue(s, to_address="jo@c.example\r\nBcc: victim@y.example", subject="s", body="b", at=T0)
        enqueue(s, to_address="ok@c.example", subject="s", body="b", at=T0)
    report = await deliver_due(store, _smtp(port), now=T0)
    assert (report.sent, report.failed) == (1, 1)
    assert "cannot build the message" in report.errors[0]
    assert [to for _, [to] in sink.envelopes] == ["ok@c.example"]
