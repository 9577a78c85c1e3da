"""Subcommands of `shiftdesk`, one module per family; `tui.cli.LAZY_COMMANDS` names them all.

None imports Textual at import time; each imports its models lazily where start time matters.
"""
