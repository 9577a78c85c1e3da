"""`serve --web`: the console in a browser through textual-serve (one process per tab).

textual-serve has no authentication: put it behind a reverse proxy that has (docs/deployment.md).
"""

from __future__ import annotations

import shlex

from aiohttp import web


async def start_web_server(
    argv: list[str], host: str, port: int, public_url: str | None
) -> web.AppRunner:
    from textual_serve.server import Server

    # textual-serve starts `command` through the shell for each browser tab
    server = Server(shlex.join(argv), host=host or "0.0.0.0", port=port, public_url=public_url)
    server.title = "shiftdesk"

    async def quiet(_app: web.Application) -> None:  # not textual-serve's banner on our stdout
        pass

    server.on_startup = quiet  # type: ignore[method-assign,assignment]
    app = await server._make_app()  # serve() would own the event loop; the SSH server shares it
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host or None, port)
    await site.start()
    return runner
