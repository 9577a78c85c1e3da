"""The SLA report (models/desk/report.py) and what the first response stores for it
(models/desk/work.py, models/desk/calls.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from models.desk import actions, calls, work
from models.desk.actions import Actor
from models.desk.report import ReportError, SlaReport, percentile, report_days, sla_report
from models.desk.report_output import report_record, report_rows, report_text, sparkline
from models.policy.config import CalendarConfig, Config, SlaConfig, SmtpConfig
from models.store.db import Store
from models.store.tables import Technician, Ticket, TicketKind

ALICE = Actor("alice@example.com", "Alice")
BOB = Actor("bob@example.com", "Bob")
ZONE = "America/Phoenix"
PHOENIX = ZoneInfo(ZONE)
CONFIG = Config(smtp=SmtpConfig(from_address="support@shiftdesk.example"))
MONDAY = dt.date(2026, 3, 9)
TUESDAY = dt.date(2026, 3, 10)
WEDNESDAY = dt.date(2026, 3, 11)


def at(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PHOENIX).timestamp()


NOW = at(WEDNESDAY, 17, 30)


def _ticket(store: Store, received: float, kind: str = TicketKind.STANDARD) -> int:
    return actions.create_ticket(
        store,
        subject="Crash on save",
        requester_email="jo@customer.example",
        received_at=received,
        body="It crashes.",
        kind=kind,
        entitlement="license",
    )


def _reply(store: Store, number: int, actor: Actor, when: float) -> None:
    work.reply(store, number, actor, "Looking into it.", at=when, config=CONFIG)


def _row(store: Store, number: int) -> Ticket:
    with store.session() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        return ticket


def _tech_id(store: Store, actor: Actor) -> int:
    with store.session() as session:
        tech = session.query(Technician).filter_by(email=actor.email).one()
        assert tech.id is not None
        return tech.id


def _scenario(store: Store) -> dict[str, int]:
    """Phoenix, Mon-Fri 08:00-17:00, standard 4 business hours, emergency 1 wall hour."""
    t1 = _ticket(store, at(TUESDAY, 9))
    _reply(store, t1, ALICE, at(TUESDAY, 10, 30))  # 90 business minutes: met
    t2 = _ticket(store, at(TUESDAY, 15))
    _reply(store, t2, BOB, at(WEDNESDAY, 10))  # 240: exactly on its deadline, met
    t3 = _ticket(store, at(TUESDAY, 9))
    _reply(store, t3, ALICE, at(TUESDAY, 14))  # 300: missed
    t4 = _ticket(store, at(TUESDAY, 20), TicketKind.EMERGENCY)
    calls.log_call(
        store,
        t4,
        BOB,
        duration_seconds=300,
        notes="Walked through the restore.",
        counts_as_first_response=True,
        called_at=at(TUESDAY, 20, 30),
        at=at(TUESDAY, 20, 40),
        config=CONFIG,
    )  # 30 wall minutes: met
    t5 = _ticket(store, at(WEDNESDAY, 1), TicketKind.EMERGENCY)
    _reply(store, t5, ALICE, at(WEDNESDAY, 3))  # 120 wall minutes: missed
    t6 = _ticket(store, at(MONDAY, 9))  # never answered: due Monday 13:00, a breach
    t7 = _ticket(store, at(WEDNESDAY, 16))  # never answered, due Thursday 11:00: not yet
    t8 = _ticket(store, at(WEDNESDAY, 15), TicketKind.EMERGENCY)  # closed unanswered: not counted
    actions.close(store, t8, ALICE, at=at(WEDNESDAY, 15, 10))
    t9 = _ticket(store, at(WEDNESDAY, 15), TicketKind.EMERGENCY)  # due 16:00: a breach
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "t7": t7, "t9": t9}


def _report(
    store: Store,
    first: dt.date = MONDAY,
    last: dt.date = WEDNESDAY,
    config: Config = CONFIG,
) -> SlaReport:
    with store.session() as session:
        return sla_report(
            session,
            first_day=first,
            last_day=last,
            zone=ZONE,
            now=NOW,
            policy=work.sla_policy(config),
        )


def test_the_first_response_stores_its_measure(store: Store) -> None:
    tickets = _scenario(store)
    t1, t2, t4, t5 = (_row(store, tickets[name]) for name in ("t1", "t2", "t4", "t5"))
    assert (t1.first_response_deadline, t1.first_response_minutes) == (at(TUESDAY, 13), 90)
    assert t1.first_response_met is True
    assert t1.first_response_by_id == _tech_id(store, ALICE)
    assert (t2.first_response_deadline, t2.first_response_minutes) == (at(WEDNESDAY, 10), 240)
    assert t2.first_response_met is True
    # an emergency: wall minutes, the call's technician
    assert (t4.first_response_deadline, t4.first_response_minutes) == (at(TUESDAY, 21), 30)
    assert t4.first_response_by_id == _tech_id(store, BOB)
    assert (t5.first_response_minutes, t5.first_response_met) == (120, False)
    # a later reply does not move the first response's measure
    work.reply(
        store, tickets["t1"], BOB, "More.", at=at(WEDNESDAY, 9), config=CONFIG, follow_up=True
    )
    again = _row(store, tickets["t1"])
    assert (again.first_response_minutes, again.first_response_by_id) == (
        90,
        _tech_id(store, ALICE),
    )
    unanswered = _row(store, tickets["t6"])
    assert unanswered.first_response_deadline is None
    assert unanswered.first_response_minutes is None
    assert unanswered.first_response_by_id is None


def test_reclassify_remeasures_on_the_standard_clock_and_stores_it(store: Store) -> None:
    tickets = _scenario(store)
    work.reclassify(store, tickets["t4"], ALICE, "not an outage", at=NOW, config=CONFIG)
    t4 = _row(store, tickets["t4"])
    # answered Tuesday 20:30, after hours: no business minutes yet, due Wednesday 12:00
    assert (t4.first_response_minutes, t4.first_response_deadline) == (0, at(WEDNESDAY, 12))
    assert t4.first_response_met is True
    assert t4.first_response_by_id == _tech_id(store, BOB)  # still who answered


def test_report_figures(store: Store) -> None:
    _scenario(store)
    report = _report(store)
    standard, emergency = report.standard, report.emergency
    assert (standard.responses, standard.met, standard.missed) == (3, 2, 1)
    assert standard.met_percent == pytest.approx(200 / 3)
    assert (standard.median_minutes, standard.p90_minutes) == (240, 300)
    assert standard.unanswered_breached == 1  # #6 (due Monday 13:00); #7 is not due yet
    assert standard.breaches == 2
    assert (emergency.responses, emergency.met, emergency.missed) == (2, 1, 1)
    assert (emergency.median_minutes, emergency.p90_minutes) == (75, 120)
    assert emergency.unanswered_breached == 1  # #9; the closed #8 is not a breach
    assert report.breaches == 4
    by_name = {tech.email: tech for tech in report.technicians}
    alice, bob = by_name[ALICE.email], by_name[BOB.email]
    assert (alice.responses, alice.met, alice.missed) == (3, 1, 2)
    assert (alice.median_standard_minutes, alice.median_emergency_minutes) == (195, 120)
    assert (bob.responses, bob.met_percent) == (2, 100.0)
    assert (bob.median_standard_minutes, bob.median_emergency_minutes) == (240, 30)
    assert [t.email for t in report.technicians] == [ALICE.email, BOB.email]  # most first
    assert [(d.day, d.responses, d.met, d.missed) for d in report.days] == [
        (MONDAY, 0, 0, 0),
        (TUESDAY, 3, 2, 1),
        (WEDNESDAY, 2, 1, 1),
    ]


def test_a_range_counts_what_happened_inside_it(store: Store) -> None:
    _scenario(store)
    report = _report(store, TUESDAY, TUESDAY)
    assert (report.standard.responses, report.emergency.responses) == (2, 1)
    # #6 was due on Monday and #9 on Wednesday: neither breached inside Tuesday
    assert report.unanswered_breached == 0
    assert [d.day for d in report.days] == [TUESDAY]
    empty = _report(store, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert empty.standard.met_percent is None and empty.standard.median_minutes is None
    assert empty.technicians == [] and len(empty.days) == 28


def test_changing_the_config_afterwards_does_not_change_the_report(store: Store) -> None:
    _scenario(store)
    before = _report(store)
    stricter = Config(
        calendar=CalendarConfig(hours={d: ["10:00-12:00"] for d in ("mon", "tue", "wed")}),
        sla=SlaConfig(standard_seconds=1800, emergency_seconds=600),
    )
    after = _report(store, config=stricter)
    assert work.sla_policy(stricter).deadline("standard", at(TUESDAY, 9)) != at(TUESDAY, 13)

    def answered(report: SlaReport) -> SlaReport:  # unanswered tickets have nothing stored
        return dataclasses.replace(
            report,
            standard=dataclasses.replace(report.standard, unanswered_breached=0),
            emergency=dataclasses.replace(report.emergency, unanswered_breached=0),
        )

    assert answered(after) == answered(before)
    assert after.standard.met == 2 and after.standard.median_minutes == 240


def test_unanswered_breaches_follow_the_deadline_not_the_arrival(store: Store) -> None:
    # received Friday 16:00: 1 business hour Friday, 3 on Monday: due Monday 11:00
    friday = dt.date(2026, 3, 6)
    _ticket(store, at(friday, 16))
    with store.session() as session:
        policy = work.sla_policy(CONFIG)

        def count(first: dt.date, last: dt.date, now: float) -> int:
            report = sla_report(
                session, first_day=first, last_day=last, zone=ZONE, now=now, policy=policy
            )
            return report.standard.unanswered_breached

        assert count(friday, friday, NOW) == 0
        assert count(MONDAY, MONDAY, at(MONDAY, 10, 59)) == 0  # not due yet
        assert count(MONDAY, MONDAY, at(MONDAY, 11, 1)) == 1
        assert count(MONDAY, WEDNESDAY, NOW) == 1


def test_output_shapes(store: Store) -> None:
    _scenario(store)
    report = _report(store)
    record = report_record(report)
    assert record["from"] == "2026-03-09" and record["to"] == "2026-03-11"
    assert record["standard"] == {
        "responses": 3,
        "met": 2,
        "missed": 1,
        "met_percent": 66.7,
        "median_minutes": 240,
        "p90_minutes": 300,
        "minutes_are": "business",
        "unanswered_past_deadline": 1,
        "breaches": 2,
    }
    assert record["breaches"]["total"] == 4  # type: ignore[index]
    rows = report_rows(report)
    assert rows[0][0] == "section"
    assert rows[1][:5] == ["kind", "standard", 3, 2, 1]
    assert [row[1] for row in rows if row[0] == "day"] == ["2026-03-09", "2026-03-10", "2026-03-11"]
    text = report_text(report)
    assert "standard" in text and "66.7%" in text and "Breaches: 4" in text
    assert "·▆▅" in text  # Monday had no response; Tuesday 67%, Wednesday 50%


def test_report_days() -> None:
    now = at(WEDNESDAY, 9)
    assert report_days(now, ZONE) == (WEDNESDAY - dt.timedelta(days=29), WEDNESDAY)
    assert report_days(now, ZONE, days=1) == (WEDNESDAY, WEDNESDAY)
    assert report_days(now, ZONE, first_day=MONDAY) == (MONDAY, MONDAY + dt.timedelta(days=29))
    assert report_days(now, ZONE, last_day=MONDAY) == (MONDAY - dt.timedelta(days=29), MONDAY)
    # late evening UTC is still the day before in Phoenix
    assert report_days(at(TUESDAY, 22), ZONE, days=1) == (TUESDAY, TUESDAY)
    for bad in (
        {"days": 0},
        {"days": 367},
        {"days": 7, "first_day": MONDAY},
        {"first_day": WEDNESDAY, "last_day": MONDAY},
        {"first_day": dt.date(2025, 1, 1), "last_day": dt.date(2026, 3, 1)},
    ):
        with pytest.raises(ReportError):
            report_days(now, ZONE, **bad)  # type: ignore[arg-type]


def test_percentile_and_sparkline() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert percentile([float(i) for i in range(1, 12)], 0.9) == 10.0
    assert sparkline([0.0, None, 50.0, 100.0]) == "▁·▅█"
