"""Who may connect: an authorized-keys file whose lines name a technician, and the host key.

A line is an OpenSSH authorized_keys line; the technician is the `technician="EMAIL"` option or,
failing that, a comment that is an email address:

    technician="alex@company.example" ssh-ed25519 AAAAC3Nza... alex's laptop
    ssh-ed25519 AAAAC3Nza... sam@company.example
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

log = logging.getLogger("shiftdesk.serve")

HOST_KEY_NAME = "ssh_host_ed25519_key"
_KEY_TYPE = re.compile(r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+@openssh\.com)$")
_TECHNICIAN = re.compile(r'(?:^|,)technician="([^"]*)"')
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class KeyFileError(ValueError):
    """str() is one line naming the file (and the line)."""


@dataclass
class AuthorizedKeys:
    """Public key blob -> technician email; re-read when the file changes."""

    path: Path
    emails: dict[bytes, str] = field(default_factory=dict)
    _stamp: tuple[float, int] | None = None

    @classmethod
    def load(cls, path: Path) -> AuthorizedKeys:
        keys = cls(path)
        keys.reload()
        return keys

    def reload(self) -> None:
        try:
            info = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"cannot read authorized keys {self.path}: {exc}") from None
        self.emails = parse_authorized_keys(text, str(self.path))
        self._stamp = (info.st_mtime, info.st_size)

    def technician(self, key: asyncssh.SSHKey) -> str | None:
        """The technician this key belongs to (None: not authorized). A file edited since the
        last look is read again, so adding a key needs no restart; a broken edit keeps the
        previous keys."""
        try:
            info = self.path.stat()
            if (info.st_mtime, info.st_size) != self._stamp:
                self.reload()
        except OSError:
            pass
        except KeyFileError as exc:
            self._stamp = (info.st_mtime, info.st_size)  # said once per edit
            log.warning("%s (keeping the keys read before)", exc)
        return self.emails.get(key.public_data)


def parse_authorized_keys(text: str, name: str) -> dict[bytes, str]:
    emails: dict[bytes, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = _split(line)
        index = next((i for i, w in enumerate(words) if _KEY_TYPE.match(w)), None)
        if index is None or index + 1 >= len(words):
            raise KeyFileError(f"{name}:{number}: no key type and key found")
        options = " ".join(words[:index])
        comment = " ".join(words[index + 2 :])
        try:
            key = asyncssh.import_public_key(f"{words[index]} {words[index + 1]}")
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise KeyFileError(f"{name}:{number}: not a public key: {exc}") from None
        match = _TECHNICIAN.search(options)
        email = (match.group(1) if match else comment).strip()
        if not _EMAIL.match(email):
            raise KeyFileError(
                f'{name}:{number}: no technician: add technician="EMAIL" before the key '
                "or an email address as its comment"
            )
        emails[key.public_data] = email
    return emails


def _split(line: str) -> list[str]:
    """Words, keeping quoted option values (`from="a, b"`) whole."""
    words: list[str] = []
    current: list[str] = []
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char.isspace() and not quoted:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key: generated once (ed25519, mode 0600), then always the same one so
    viewers' known_hosts stay valid. A key others can read is refused, as sshd does."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = asyncssh.generate_private_key("ssh-ed25519", comment="shiftdesk serve")
        data = key.export_private_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another server made it first: use theirs
        except OSError as exc:
            raise KeyFileError(f"cannot write the host key {path}: {exc}") from None
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(f"host key {path} is readable by others: chmod 600 {path}")
        return asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError) as exc:
        raise KeyFileError(f"cannot read the host key {path}: {exc}") from None
