"""`shiftdesk demo` deletes its throwaway store however it ends: `q`, SIGTERM, SIGHUP (the
terminal or the ssh connection closed). The console runs on Textual's web driver protocol here,
as textual-serve runs it, so the test can see it is up without a terminal."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.serve_support import WAIT, screen_text
from tui.serve import protocol

pytestmark = pytest.mark.slow


async def _start_demo(
    tmp_path: Path, driver: str = "textual.drivers.web_driver:WebDriver"
) -> asyncio.subprocess.Process:
    config = tmp_path / "shiftdesk.toml"
    config.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),  # where the demo makes its folder
        "TEXTUAL_DRIVER": driver,
        "COLUMNS": "100",
        "ROWS": "30",
    }
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "tui", "--config", str(config), "demo"],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    await asyncio.wait_for(_queue_shown(process.stdout), WAIT)
    return process


async def _queue_shown(stdout: asyncio.StreamReader) -> None:
    assert await protocol.wait_ready(stdout)
    seen = b""
    async for kind, payload in protocol.packets(stdout):
        if kind == protocol.DATA:
            seen += payload
            if b"waiting 1" in screen_text(seen) or b"waiting 2" in screen_text(seen):
                return
    raise AssertionError("the demo ended before showing its queue")


def _demo_folders(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("shiftdesk-demo-*"))


@pytest.mark.parametrize("ending", ["quit", "SIGTERM", "SIGHUP"])
async def test_the_demo_deletes_its_store_when_it_ends(tmp_path: Path, ending: str) -> None:
    process = await _start_demo(tmp_path)
    [folder] = _demo_folders(tmp_path)
    assert (folder / "demo.db").exists()
    assert process.stdin is not None and process.stdout is not None
    if ending == "quit":
        process.stdin.write(protocol.data_packet(b"q"))
    else:
        process.send_signal(getattr(signal, ending))
    drain = asyncio.create_task(process.stdout.read())
    assert await asyncio.wait_for(process.wait(), WAIT) == 0
    await drain
    assert _demo_folders(tmp_path) == []


async def test_a_served_console_ends_when_its_server_is_gone(tmp_path: Path) -> None:
    """`serve`'s driver: stdin closed (the server died) ends the console; the stock WebDriver
    would only stop reading and tick on for nobody."""
    process = await _start_demo(tmp_path, protocol.DRIVER)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    drain = asyncio.create_task(process.stdout.read())
    assert await asyncio.wait_for(process.wait(), WAIT) == 0
    await drain
    assert _demo_folders(tmp_path) == []
