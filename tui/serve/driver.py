"""The driver of a served console: Textual's WebDriver (the protocol textual-serve speaks), and
the app ends when its stdin closes, i.e. when the server that bridges it is gone. The stock
WebDriver only stops reading then and the console would live on, ticking, with nobody watching."""

from __future__ import annotations

from textual import messages
from textual.drivers.web_driver import WebDriver


class SessionDriver(WebDriver):
    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # stdin reached EOF, not the app stopping us
            self._app.post_message(messages.ExitApp())
