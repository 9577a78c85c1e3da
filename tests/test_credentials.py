"""The credential detector ("no passwords, ever"): what technicians paste must be caught, support
prose about passwords must not be."""

from __future__ import annotations

import pytest

from models.policy.credentials import find_credential

CAUGHT = [
    ("password: hunter2", "a password"),
    ("Password=abc", "a password"),
    ("pwd=secret", "a password"),
    ("passwd=letmein", "a password"),
    ("pass Hunter2!", "a password"),
    ("the password is tiger", "a password"),
    ("the admin password for srv01 is Hunter2", "a password"),
    ("pw is hunter2", "a password"),
    ("login admin / pass 1234", "a password"),
    ("PIN: 4321", "a PIN"),
    ("kennwort: geheim", "a password"),
    ("passphrase: correct-horse-battery", "a password"),
    ("admin / Hunter2!", "a user name and password"),
    ("root / toor123", "a user name and password"),
    ("Login with jsmith:Summer2024! on the jump host", "a user name and password"),
    (r"CORP\jsmith:Winter2024", "a user name and password"),
    ("creds: admin/Winter2024", "credentials"),
    ("Credentials: administrator / P@ssw0rd", "credentials"),
    ("api key: 4f9a8b7c6d5e", "an API key"),
    ("API_KEY=sk_live_51H8xYzAbC", "an access token"),
    ("their api key 9f8e7d6c5b4a", "an API key"),
    ("token: abc123def456", "an access token"),
    ("client secret = 8f2b1c", "a secret"),
    ("secret: s3cr3t", "a secret"),
    ("use ghp_16C7e42F292c6912E7710c838347Ae178B4a for the repo", "an access token"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", "an access token"),
    ("AWS key AKIAIOSFODNN7EXAMPLE", "an access token"),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "a private key",
    ),
    ("here is the key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", "a private key"),
    ("PuTTY-User-Key-File-3: ssh-ed25519", "a private key"),
]

PROSE = [
    "",
    "please reset your password via the portal",
    "Please don't send us your password.",
    "Customer will pass the ticket to their IT team",
    "password reset is on them",
    "The password is expired: ask them to change it in the portal.",
    "Your password is case-sensitive.",
    "Passwords must have at least 12 characters.",
    "The token is valid until Friday.",
    "Your API key was rotated yesterday after the incident.",
    "I can't share passwords over email; we will call you.",
    "Password: not shared, the customer types it in during the session",
    "Use the VPN first; firewall opened for our IP",
    "Upgrade from 9.4/9.5 to 10.1, then restart the service.",
    "See https://portal.example.com:8443/login for the portal.",
    r"It is installed in C:\Program Files\Shiftdesk\bin",
    "Meeting at 10:30, TCP/IP settings attached; error 0x80070005 in the log.",
    "The PIN pad at the front desk is broken.",
    "Is the secret santa list ready?",
    "Re: Subject: Token expired again",
    "user / group permissions need a review",
    "We checked the credentials and they are fine now.",
]


@pytest.mark.parametrize(("text", "kind"), CAUGHT)
def test_credentials_are_caught(text: str, kind: str) -> None:
    assert find_credential(text) == kind


@pytest.mark.parametrize("text", PROSE)
def test_support_prose_passes(text: str) -> None:
    assert find_credential(text) is None


def test_the_reason_never_echoes_the_secret() -> None:
    found = find_credential("admin / Hunter2!")
    assert found is not None and "Hunter2" not in found
