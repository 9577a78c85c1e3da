"""`shiftdesk serve`: the console over SSH (asyncssh) and in a browser (textual-serve).

Each session is its own `shiftdesk` process speaking Textual's web driver protocol on its pipes
(`protocol.py`); the server bridges that to the SSH channel. Several Textual apps on the stock
driver cannot share one process: each binds the process's stdin and signal handlers.
"""
