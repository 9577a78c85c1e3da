"""The driver of a served console: Textual's WebDriver (the protocol textual-serve speaks), with
two changes for a server running many consoles:

- the app ends when its stdin closes, i.e. when the server that bridges it is gone (the stock
  WebDriver only stops reading, and the console would tick on for nobody);
- an idle console's input thread wakes once a second, not ten times: the reader polls with a
  timeout so the parser can tell a lone Esc from the start of a sequence, which only matters
  right after input arrived — so it keeps the short poll for BUSY_WINDOW after the last input
  (a lone Esc is then reported within ~0.2 s; with one idle poll after it, the Esc waited a
  second and an Esc typed meanwhile, then `q`, read as alt+q).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from textual import messages
from textual.drivers._input_reader import InputReader
from textual.drivers.web_driver import WebDriver

BUSY_POLL = 0.1  # seconds: Textual's own timeout, while keys are arriving (Esc shows this fast)
BUSY_WINDOW = 0.5  # seconds after the last input the short poll is kept (> ESCDELAY + a poll)
IDLE_POLL = 1.0  # seconds: once nothing came for BUSY_WINDOW


def next_poll(now: float, last_input: float) -> float:
    """How long the reader waits next: short while input is recent (a lone Esc must be told from
    a sequence within ESCDELAY, and the parser only learns time is up when the reader wakes)."""
    return BUSY_POLL if now - last_input < BUSY_WINDOW else IDLE_POLL


class _IdleInputReader(InputReader):
    def __iter__(self) -> Iterator[bytes]:
        last_input = 0.0
        for data in super().__iter__():
            now = time.monotonic()
            if data:
                last_input = now
            self.timeout = next_poll(now, last_input)  # read before each wait of the loop
            yield data


class SessionDriver(WebDriver):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._input_reader = _IdleInputReader(timeout=BUSY_POLL)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # stdin reached EOF, not the app stopping us
            self._app.post_message(messages.ExitApp())
