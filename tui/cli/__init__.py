"""The command line: `shiftdesk` (core.py) and its commands, one module per family. No
Textual here except `demo`/the console and `serve`."""
