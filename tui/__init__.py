"""shiftdesk's terminal UI and command line. Importing this package does not import Textual."""

__version__ = "0.1.0"
