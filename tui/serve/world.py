"""The shared demo world (`serve --demo --shared-demo`): one store every viewer's console opens,
populated once, its arrivals run by the server (each console would otherwise add its own)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

DEMO_DB = "demo.db"  # tui.cli.run.DEMO_DB: where a demo console looks in --store-dir


def shared_world_url(folder: Path) -> str:
    return f"sqlite:///{folder / DEMO_DB}"


def populate_shared_world(folder: Path, now: float) -> None:
    from models.demo.demo import populate
    from models.store.db import open_store

    store = open_store(shared_world_url(folder), create=True)
    try:
        populate(store, now=now, history_days=30)  # for the SLA report (`S`)
    finally:
        store.dispose()


async def run_arrivals(folder: Path, clock: Callable[[], float], speed: float) -> None:
    """New tickets in the shared world every few seconds, until cancelled."""
    from models.demo.demo import ArrivalStream
    from models.store.db import open_store

    store = await asyncio.to_thread(open_store, shared_world_url(folder), create=True)
    stream = ArrivalStream(store)
    try:
        while True:
            await asyncio.sleep(stream.interval() / speed)
            await asyncio.to_thread(stream.arrive, clock())
    finally:
        store.dispose()


def offset_clock(offset: float) -> Callable[[], float]:
    return lambda: time.time() + offset
