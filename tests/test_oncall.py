"""On-call without the UI: alert states, acknowledgement in the store, the alert schedule, the
notification sequence (hostile text), the outbound hook, [oncall] config and the CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from models.clock.calendar import BusinessCalendar
from models.clock.sla import SlaPolicy
from models.desk import actions
from models.desk.actions import ActionError, Actor, Conflict
from models.desk.oncall import (
    AlertTracker,
    acknowledge,
    alert_state,
    alert_text,
    is_alerting,
    notification_sequence,
    run_hook,
    strip_emergency_prefix,
    unacknowledged,
)
from models.desk.queue import load_rows
from models.policy.config import CalendarConfig, ConfigError, SlaConfig, parse_config
from models.store.db import Store
from models.store.tables import AuditEvent, Message

NOW = 1_780_000_000.0
ME = Actor("alex@shiftdesk.example", "Alex Rivera")


def new_emergency(store: Store, subject: str = "EMERGENCY: server down", at: float = NOW) -> int:
    return actions.create_ticket(
        store,
        subject=subject,
        requester_email="ops@customer.example",
        received_at=at,
        kind="emergency",
        entitlement="purchase",
    )


def row_of(store: Store, number: int):  # type: ignore[no-untyped-def]
    with store.session() as session:
        (row,) = load_rows(session, [number])
    return row


def test_acknowledge_is_one_transaction_with_an_audit_event_and_stops_alerting(
    store: Store,
) -> None:
    number = new_emergency(store)
    assert alert_state(row_of(store, number)) == "new" and is_alerting(row_of(store, number))
    with store.session() as session:
        assert [r.number for r in unacknowledged(session)] == [number]
    acknowledge(store, number, ME, "on it, calling them", at=NOW + 60)
    row = row_of(store, number)
    assert alert_state(row) == "acknowledged" and not is_alerting(row)
    assert row.acknowledged_at == NOW + 60
    with store.session() as session:
        assert unacknowledged(session) == []
        events = session.execute(
            select(AuditEvent).where(col(AuditEvent.ticket_number) == number)
        ).scalars()
        ack = [e for e in events if e.action == "acknowledge"]
        assert len(ack) == 1 and "on it" in (ack[0].detail or "")
        notes = session.execute(
            select(Message).where(col(Message.ticket_number) == number, Message.direction == "note")
        ).scalars()
        assert [n.body for n in notes] == ["Acknowledged: on it, calling them"]
    with pytest.raises(ActionError, match="already acknowledged by alex@"):
        acknowledge(store, number, ME, at=NOW + 61)


def test_acknowledge_refuses_standard_and_stale_versions(store: Store) -> None:
    standard = actions.create_ticket(
        store, subject="x", requester_email="a@b.example", received_at=NOW, entitlement="license"
    )
    with pytest.raises(ActionError, match="not an emergency"):
        acknowledge(store, standard, ME, at=NOW)
    number = new_emergency(store)
    version = row_of(store, number).version
    actions.take(store, number, Actor("bob@shiftdesk.example"), at=NOW + 1)
    with pytest.raises(Conflict):
        acknowledge(store, number, ME, expected_version=version, at=NOW + 2)
    acknowledge(store, number, ME, at=NOW + 3)  # without a version: the current one


def tracker() -> AlertTracker:
    return AlertTracker(repeat_seconds=300, before_breach=[600, 1800], emergency_seconds=3600)


def test_schedule_new_repeat_points_breach_and_stop(sqlite_store: Store) -> None:
    number = new_emergency(sqlite_store)
    row = row_of(sqlite_store, number)
    t = tracker()
    fresh, stopped = t.observe([row], NOW + 5)
    assert [(a.number, a.reason) for a in fresh] == [(number, "new emergency")] and stopped == []
    assert t.observe([row], NOW + 6) == ([], [])  # seen again: no second "new"
    assert t.due(NOW + 300) == []
    assert [a.reason for a in t.due(NOW + 305)] == ["still unacknowledged"]
    assert t.due(NOW + 306) == []
    # 30 min left at NOW+1800 (the repeat would be due at NOW+605, +905, ...)
    reasons = {s: [a.reason for a in t.due(NOW + s)] for s in range(606, 3700, 1)}
    fired = [(s, r[0]) for s, r in reasons.items() if r]
    assert (1800, "30 min left") in fired and (3000, "10 min left") in fired
    assert (3600, "breached") in fired
    assert all(r in ("still unacknowledged", "30 min left", "10 min left", "breached")
               for _, r in fired)  # fmt: skip
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(fired)]
    assert all(gap <= 300 for gap in gaps)  # never quiet longer than the repeat
    acknowledge(sqlite_store, number, ME, at=NOW + 3700)
    fresh, stopped = t.observe([row_of(sqlite_store, number)], NOW + 3701)
    assert fresh == [] and stopped == [number]
    assert t.due(NOW + 99_999) == []


def test_already_acknowledged_or_answered_never_alerts(sqlite_store: Store) -> None:
    from models.desk.work import reply

    acked = new_emergency(sqlite_store)
    acknowledge(sqlite_store, acked, ME, at=NOW + 1)
    answered = new_emergency(sqlite_store)
    reply(sqlite_store, answered, ME, "Looking at it now.", at=NOW + 2)
    assert alert_state(row_of(sqlite_store, answered)) == "responded"
    t = tracker()
    rows = [row_of(sqlite_store, acked), row_of(sqlite_store, answered)]
    assert t.observe(rows, NOW + 2) == ([], [])
    assert t.due(NOW + 5000) == []


def test_first_response_ends_alerting(sqlite_store: Store) -> None:
    from models.desk.work import reply

    number = new_emergency(sqlite_store)
    t = tracker()
    fresh, _ = t.observe([row_of(sqlite_store, number)], NOW)
    assert [a.number for a in fresh] == [number]
    reply(sqlite_store, number, ME, "We are on it.", at=NOW + 120)
    assert t.observe([row_of(sqlite_store, number)], NOW + 121) == ([], [number])
    assert t.due(NOW + 5000) == []


def test_emergency_thresholds_of_their_own() -> None:
    """A 1 h emergency with 16-59 min left read "ok" (25 % of 1 h = the critical 15 min)."""
    calendar = BusinessCalendar.from_config(CalendarConfig(holiday_country=None), now=NOW)
    cases = ((3600, "warning"), (40 * 60, "warning"), (16 * 60, "warning"),
             (14 * 60, "critical"), (-1, "breached"))  # fmt: skip
    default = SlaPolicy(calendar, SlaConfig())  # the policy every other caller builds
    for left, want in cases:
        assert default.status(default.state("emergency", NOW, NOW + 3600 - left)) == want, left
    oncall = parse_config({"oncall": {"warning": "30m", "critical": "10m"}}).oncall
    tuned = SlaPolicy(
        calendar,
        SlaConfig(),
        emergency_warning=oncall.warning_seconds,
        emergency_critical=oncall.critical_seconds,
    )
    for left, want in ((40 * 60, "ok"), (30 * 60, "warning"), (11 * 60, "warning"),
                       (9 * 60, "critical")):  # fmt: skip
        assert tuned.status(tuned.state("emergency", NOW, NOW + 3600 - left)) == want, left
    assert tuned.status(tuned.state("standard", NOW, NOW)) in ("ok", "paused")


HOSTILE = "pwn\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m;semi\u202e"


def test_hostile_subject_cannot_reach_the_terminal_through_a_notification(
    sqlite_store: Store,
) -> None:
    number = actions.create_ticket(
        sqlite_store,
        subject=HOSTILE,
        requester_email="evil@customer.example",
        received_at=NOW,
        kind="emergency",
        entitlement="purchase",
    )
    t = tracker()
    (alert,), _ = t.observe([row_of(sqlite_store, number)], NOW)
    title, body = alert_text(alert)
    for tmux in (False, True):
        sequence = notification_sequence(title, body, tmux=tmux)
        # exactly the escapes we put there: OSC 9 and OSC 777 (+ tmux's DCS wrapper), nothing else
        expected_escapes = 4 if not tmux else 4 * 2 + 4
        assert sequence.count("\x1b") == expected_escapes
        assert "\x07" not in sequence and "\x9b" not in sequence and "\u202e" not in sequence
        assert "\x1b]52" not in sequence and "\x1b[2J" not in sequence
    plain_sequence = notification_sequence(title, body)
    osc777 = plain_sequence.split("\x1b]777;", 1)[1].removesuffix("\x1b\\")
    assert osc777.count(";") == 2  # notify;title;body: the subject's ';' could add a field


def test_tmux_passthrough_doubles_escapes() -> None:
    sequence = notification_sequence("t", "b", tmux=True)
    assert sequence.startswith("\x1bPtmux;\x1b\x1b]9;t: b\x1b\x1b\\\x1b\\")


def test_subject_prefix_hidden() -> None:
    assert strip_emergency_prefix("EMERGENCY: production server down") == "production server down"
    assert strip_emergency_prefix("[Emergency] - db") == "db"
    assert strip_emergency_prefix("Emergency lighting question") == "Emergency lighting question"
    assert strip_emergency_prefix("EMERGENCY:") == "EMERGENCY:"


def test_hook_gets_json_and_reports_failures(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    assert run_hook(f"cat > {out}", {"ticket": 7, "subject": "x"}, 5) is None
    assert json.loads(out.read_text()) == {"ticket": 7, "subject": "x"}
    assert run_hook("echo boom >&2; exit 3", {}, 5) == "on-call command exited 3: boom"
    assert run_hook("sleep 5", {}, 0.2) == "on-call command timed out after 0.2s"


def test_oncall_config() -> None:
    c = parse_config(
        {"oncall": {"repeat": "2m", "before_breach": ["5m", "20m"], "sound": False,
                    "view": "emergencies", "command": "ntfy publish x", "command_timeout": "3s"}}
    ).oncall  # fmt: skip
    assert (c.repeat_seconds, c.before_breach, c.sound, c.view) == (120, (1200, 300), False,
                                                                    "emergencies")  # fmt: skip
    assert c.command == "ntfy publish x" and c.command_timeout_seconds == 3.0
    for bad, key in (({"repeat": "soon"}, "oncall.repeat"), ({"view": "x"}, "oncall.view"),
                     ({"before_breach": "10m"}, "oncall.before_breach"),
                     ({"sound": "no"}, "oncall.sound"), ({"volume": 1}, "oncall.volume"),
                     ({"critical": "2h"}, "oncall.critical")):  # fmt: skip
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            parse_config({"oncall": bad})


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}
    env["SHIFTDESK_DB"] = url
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, check=False
    )


def test_cli_oncall_and_ack(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    number = new_emergency(store, subject="EMERGENCY: db\x1b[2J down")
    store.dispose()
    listed = _cli(sqlite_url, "oncall")
    assert listed.returncode == 0 and f"#{number}" in listed.stdout and "\x1b" not in listed.stdout
    assert "db␛[2J down" in listed.stdout and "EMERGENCY:" not in listed.stdout
    as_json = _cli(sqlite_url, "oncall", "--json")
    [record] = json.loads(as_json.stdout)  # the one --json shape: an array
    assert record["ticket"] == number and record["state"] == "new"
    acked = _cli(sqlite_url, "ack", str(number), "--comment", "on it", "--as", ME.email)
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout.strip() == f"#{number} acknowledged by {ME.email}"
    again = _cli(sqlite_url, "ack", str(number), "--as", ME.email)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "already acknowledged" in again.stderr
    shown = json.loads(_cli(sqlite_url, "show", str(number), "--json").stdout)
    assert shown["acknowledged_by"] == ME.email and shown["acknowledged_at"].startswith("20")
    text = _cli(sqlite_url, "show", str(number)).stdout
    assert any(
        line.startswith("acknowledged ") and line.endswith(f"by {ME.email}")
        for line in text.splitlines()
    )
    assert json.loads(_cli(sqlite_url, "oncall", "--json").stdout) == []
    assert _cli(sqlite_url, "oncall").stdout.strip() == "no unacknowledged emergencies"
    missing = _cli(sqlite_url, "ack", "99999", "--as", ME.email)
    assert missing.returncode == 1 and missing.stderr.startswith("shiftdesk: ")
