"""`python -m tui`: the `shiftdesk` command (`shiftdesk serve` starts each console so)."""

from tui.cli.core import main

main(prog_name="shiftdesk")
