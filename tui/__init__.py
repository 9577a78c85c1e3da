"""shiftdesk's terminal UI and command line. Importing this package does not import Textual."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shiftdesk")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+checkout"
