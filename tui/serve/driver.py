"""The driver of a served console: Textual's WebDriver (the protocol textual-serve speaks), with
two changes for a server running many consoles:

- the app ends when its stdin closes, i.e. when the server that bridges it is gone (the stock
  WebDriver only stops reading, and the console would tick on for nobody);
- an idle console's input thread wakes once a second, not ten times: the reader polls with a
  timeout so the parser can tell a lone Esc from the start of a sequence, which only matters
  right after input arrived.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual import messages
from textual.drivers._input_reader import InputReader
from textual.drivers.web_driver import WebDriver

BUSY_POLL = 0.1  # seconds: Textual's own timeout, while keys are arriving (Esc shows this fast)
IDLE_POLL = 1.0  # seconds: once nothing came for BUSY_POLL


class _IdleInputReader(InputReader):
    def __iter__(self) -> Iterator[bytes]:
        for data in super().__iter__():
            # read before each wait of the reader's loop
            self.timeout = BUSY_POLL if data else IDLE_POLL
            yield data


class SessionDriver(WebDriver):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._input_reader = _IdleInputReader(timeout=BUSY_POLL)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # stdin reached EOF, not the app stopping us
            self._app.post_message(messages.ExitApp())
