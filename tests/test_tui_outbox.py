"""The console with the SMTP server down: the reply stays queued, the status line says why, the
screen keeps working; once the server is up the reply goes out exactly once."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from sqlalchemy import text

from models.policy.config import Config, SmtpConfig
from models.store.db import Store
from tests.test_outbox_smtp import Sink, free_port
from tests.tui_support import make_app, until
from tui.widgets.detail import ReplyEditor
from tui.widgets.queue_view import QueueView


async def test_reply_waits_for_the_smtp_server_and_is_sent_once(sqlite_store: Store) -> None:
    port = free_port()  # nothing listens here yet
    smtp = SmtpConfig(
        host="127.0.0.1", port=port, from_address="support@shiftdesk.example", timeout_seconds=2
    )
    app = make_app(sqlite_store, live=True, config=Config(smtp=smtp))
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.screen.query_one(QueueView)
        await until(pilot, lambda: view.loaded)
        for i in range(view.visible_count):
            row = view.row_at(i)
            if row and row.first_response_at is None and row.kind == "standard":
                view.cursor = i
                break
        number = view.current.number  # type: ignore[union-attr]
        await pilot.press("r")
        await until(pilot, lambda: app.screen.query_one(ReplyEditor).has_focus)
        app.screen.query_one(ReplyEditor).insert("The fix is in 9.4.2.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "outbox: 1 waiting" in app.outbox_line)
        assert "refused" in app.outbox_line.lower() or "connect" in app.outbox_line.lower()
        # the screen still works while mail can't go out (once the answered ticket has left the
        # waiting view, so that its leaving cannot move the cursor under the test's feet)
        await until(
            pilot,
            lambda: all(
                (row := view.row_at(i)) is None or row.number != number
                for i in range(view.visible_count)
            ),
        )
        before = view.cursor
        await pilot.press("escape", "j")
        await until(pilot, lambda: view.cursor == before + 1 or view.visible_count <= before + 1)
        # the server comes up; the backoff has passed (simulated), the worker runs again
        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            with sqlite_store.transaction() as s:
                s.execute(text("UPDATE outbox SET next_attempt_at = 0"))
            app.kick_outbox()
            await until(pilot, lambda: len(sink.messages) == 1)
            await until(pilot, lambda: app.outbox_line == "")
            await app.deliver_outbox().wait()  # a second pass sends nothing more
            assert len(sink.messages) == 1
            assert f"[#{number}]" in str(sink.messages[0]["Subject"])
        finally:
            controller.stop()
