"""The credential detector: "no passwords, ever" in anything shiftdesk stores or mails.

Used by the RSAA form (its notes, tool name and account), by replies and by notes. It looks for
what technicians actually paste: "password: x", "pwd=x", "the password is x", "creds:", "api key:",
"admin / Hunter2!", "jsmith:Summer2024", private key blocks and well-known token shapes. Support
prose that merely talks about passwords ("please reset your password via the portal", "the
password is expired") must pass, so a keyword alone is never enough: it needs a value, and a
value that is an ordinary word of such prose does not count.

`find_credential` names what it found, for a one-line reason; it never echoes the secret.
"""

from __future__ import annotations

import re

# the words that introduce a secret; "pass" alone only with a secret-looking value
_KEYWORDS = (
    r"pass(?:word|wd|wort|phrase|code)?s?|pwd|pw|secrets?|client[ _-]?secret|kennwort"
    r"|pin|mot de passe|contrase(?:ñ|n)a|creds?|credentials?"
    r"|api[ _-]?keys?|apikey|access[ _-]?keys?"
    r"|secret[ _-]?keys?|(?:access|auth|api|bearer|refresh)?[ _-]?tokens?"
)
# "password: x", "pwd=x", "the password is x", "password for srv01 is x", "PIN - 1234"
_ASSIGNED = re.compile(
    rf"\b(?P<word>{_KEYWORDS})(?:\s+(?:for|of|on|to)\s+\S+)?"
    r"(?:\s*[:=]+\s*|\s+(?:is|are|was|reads|=)\s+|\s+-\s+)(?P<value>\S+)",
    re.IGNORECASE,
)
# "pass Hunter2!", "password Winter2024", "api key sk-abc123": a secret-looking token right after
_FOLLOWED = re.compile(rf"\b(?P<word>{_KEYWORDS})\s+(?P<value>\S+)", re.IGNORECASE)
# "admin / Hunter2!", "root / toor123", "administrator/P@ssw0rd"
_ACCOUNTS = (
    r"admin|administrator|root|sa|sysadmin|superuser|user|username|guest|test|support|service"
    r"|postgres|oracle|pi|ubnt|operator"
)
_ACCOUNT_PAIR = re.compile(rf"\b(?:{_ACCOUNTS})\s*/\s*(?P<value>\S+)", re.IGNORECASE)
# "jsmith:Summer2024!", "CORP\\jsmith:Winter2024", "bob@corp.example:Passw0rd"
_USER_PAIR = re.compile(
    r"(?<![\w/:.@\\-])(?P<user>[A-Za-z][\w.\\@-]{1,63}):(?P<value>(?!\d+(?:/|\s|$))[^\s/]\S{5,})"
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d", re.IGNORECASE
)
_TOKEN_SHAPES = re.compile(
    r"\bAKIA[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub
    r"|\bgithub_pat_[A-Za-z0-9_]{30,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{8,}"  # Stripe
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT
    r"|\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*"
)
# "scheme:rest" and mail-ish prefixes that are never a user:password pair
_NOT_USERS = {
    "http",
    "https",
    "ftp",
    "sftp",
    "ssh",
    "rdp",
    "vnc",
    "smb",
    "file",
    "mailto",
    "tel",
    "urn",
    "re",
    "fwd",
    "aw",
    "subject",
    "cc",
    "bcc",
    "to",
    "from",
    "note",
    "error",
    "warning",
    "step",
    "version",
    "build",
    "ticket",
    "path",
    "see",
    "ref",
}
# words that follow "password is / password:" in prose about passwords, not in a secret
_PROSE = {
    "a", "an", "the", "not", "no", "none", "n/a", "na", "now", "still", "also", "being", "too",
    "expired", "expiring", "wrong", "incorrect", "invalid", "correct", "right", "valid", "fine",
    "ok", "okay", "required", "missing", "empty", "blank", "set", "reset", "changed", "locked",
    "unlocked", "working", "broken", "different", "same", "stored", "saved", "sent", "known",
    "unknown", "long", "short", "weak", "strong", "managed", "rotated", "revoked", "needed",
    "shared", "in", "on", "at", "for", "of", "to", "by", "via", "with", "what", "which", "there",
    "here", "it", "its", "their", "your", "our", "my", "his", "her", "this", "that", "these",
    "those", "and", "or", "but", "if", "when", "case", "sensitive", "case-sensitive", "policy",
    "manager", "field", "prompt", "change", "changes", "ask", "asked", "please", "see",
    "redacted", "withheld", "removed", "hidden", "xxx", "***", "…", "...", "tbd", "pending",
    "unchanged", "protected", "encrypted", "good", "bad", "fixed", "done", "yes", "has", "have",
    "had", "will", "would", "should", "must", "can", "could", "may", "expires", "expire", "etc",
}  # fmt: skip


def _bare(value: str) -> str:
    return value.strip(".,;:!?\"'()[]{}<>").lower()


def _secret_looking(value: str) -> bool:
    """A token with a digit, a symbol or mixed case: "Hunter2!", "1234", "toor123", "sk-x"."""
    token = value.rstrip(".,;!?")
    if not token or _bare(token) in _PROSE:
        return False
    return (
        any(c.isdigit() for c in token)
        or any(not c.isalnum() for c in token)
        or (any(c.isupper() for c in token[1:]) and any(c.islower() for c in token))
    )


def _strong(value: str) -> bool:
    """At least three of lower, upper, digit, symbol: how a password looks, not a word."""
    token = value.rstrip(".,;!?")
    classes = [
        any(c.islower() for c in token),
        any(c.isupper() for c in token),
        any(c.isdigit() for c in token),
        any(not c.isalnum() for c in token),
    ]
    return sum(classes) >= 3


def find_credential(text: str | None) -> str | None:
    """What kind of credential `text` seems to carry ("a password", "a private key", …), or
    None. Never the secret itself: the result goes into error lines and notifications."""
    if not text:
        return None
    if _PRIVATE_KEY.search(text):
        return "a private key"
    if _TOKEN_SHAPES.search(text):
        return "an access token"
    for match in _ASSIGNED.finditer(text):
        value = _bare(match.group("value"))
        if value and value not in _PROSE:
            return _kind(match.group("word"))
    for match in _FOLLOWED.finditer(text):
        if _secret_looking(match.group("value")):
            return _kind(match.group("word"))
    for match in _ACCOUNT_PAIR.finditer(text):
        value = match.group("value")
        if _secret_looking(value) and not value.startswith("/"):
            return "a user name and password"
    for match in _USER_PAIR.finditer(text):
        user = match.group("user").lower()
        if user not in _NOT_USERS and _strong(match.group("value")):
            return "a user name and password"
    return None


def _kind(word: str) -> str:
    lowered = word.lower()
    if "key" in lowered:
        return "an API key"
    if "token" in lowered:
        return "an access token"
    if "secret" in lowered:
        return "a secret"
    if "cred" in lowered:
        return "credentials"
    if lowered.startswith("pin"):
        return "a PIN"
    return "a password"


def looks_like_password(text: str | None) -> bool:
    """Whether `text` seems to carry any credential (`find_credential`)."""
    return find_credential(text) is not None
