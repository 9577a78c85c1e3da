"""Peak memory and time of the gateway on hostile message shapes (goal: <= 300 MB peak RSS for
the worst, whatever the shape). Each shape is built, written to a file and handed to a fresh
Python process that runs the gateway (`models.mail.intake.gate`) into a scratch SQLite store; the
child reports its own peak RSS (`ru_maxrss`) and the time `gate` took.

    .venv/bin/python bench/mailparse_memory_bench.py [--size 25] [--only NAME]

`--size` is the message size in MB for the size-bound shapes (the gateway's limit is 25 MB).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEAD = (
    b"From: Mallory <mallory@attacker.example>\r\nTo: support@example.com\r\n"
    b"Subject: shapes\r\nMessage-ID: <shape.%d@attacker.example>\r\nMIME-Version: 1.0\r\n"
)


def _fill(head: bytes, unit: bytes, tail: bytes, size: int) -> bytes:
    count = max(1, (size - len(head) - len(tail)) // len(unit))
    return head + unit * count + tail


def headerless_parts(size: int) -> bytes:
    """multipart/mixed whose parts have no headers at all (each defaults to text/plain)."""
    head = HEAD % 1 + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    return _fill(head, b"--b\r\n\r\nx\r\n", b"--b--\r\n", size)


def headerless_digest(size: int) -> bytes:
    """multipart/digest: header-less parts default to message/rfc822 (two objects each)."""
    head = HEAD % 2 + b'Content-Type: multipart/digest; boundary="b"\r\n\r\n'
    return _fill(head, b"--b\r\n\r\nx\r\n", b"--b--\r\n", size)


def tiny_parts_with_headers(size: int) -> bytes:
    head = HEAD % 3 + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    unit = b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return _fill(head, unit, b"--b--\r\n", size)


def deep_nesting(size: int) -> bytes:
    """Multiparts nested as deep as the size allows (each level declares its own boundary)."""
    levels = min(size // 80, 200_000)
    opening = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (n, n + 1)
        for n in range(levels)
    )
    closing = b"".join(b"--b%d--\r\n" % n for n in reversed(range(levels + 1)))
    head = HEAD % 4 + b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    return head + opening + b"--b%d\r\n\r\nbottom\r\n" % levels + closing


def deep_headerless_rfc822(size: int) -> bytes:
    """message/rfc822 inside message/rfc822 ... without multipart boundaries."""
    levels = min(size // 40, 200_000)
    layer = b"Content-Type: message/rfc822\r\n\r\n"
    return HEAD % 5 + layer * levels + b"\r\nbottom\r\n"


def huge_header(size: int) -> bytes:
    """One header line as long as the message may be."""
    return HEAD % 6 + b"X-Junk: " + b"a" * (size - 400) + b"\r\n\r\nbody\r\n"


def huge_folded_subject(size: int) -> bytes:
    """A Subject of encoded words folded over many lines (the header parser's slow path)."""
    word = b" =?utf-8?q?caf=C3=A9?=\r\n"
    return _fill(HEAD % 7 + b"Subject:", word, b"\r\nbody\r\n", size)


def many_headers(size: int) -> bytes:
    return _fill(HEAD % 8, b"X-H: v\r\n", b"\r\nbody\r\n", size)


def huge_content_type(size: int) -> bytes:
    """A Content-Type with a parameter list as long as the message may be."""
    params = b"".join(b"; p%d=v" % n for n in range(size // 12))
    return HEAD % 9 + b"Content-Type: text/plain" + params + b"\r\n\r\nbody\r\n"


def big_attachment(size: int) -> bytes:
    data = base64.encodebytes(b"\x00\x01" * (int(size / 1.36 - 2000) // 2))
    return (
        HEAD % 10
        + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        + b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
        + b'Content-Type: application/octet-stream; name="a.bin"\r\n'
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + data
        + b"\r\n--b--\r\n"
    )


def many_lines_body(size: int) -> bytes:
    return _fill(HEAD % 11 + b"\r\n", b"x\r\n", b"", size)


SHAPES: dict[str, Callable[[int], bytes]] = {
    "headerless-parts": headerless_parts,
    "headerless-digest": headerless_digest,
    "tiny-parts-with-headers": tiny_parts_with_headers,
    "deep-nesting": deep_nesting,
    "deep-rfc822": deep_headerless_rfc822,
    "huge-header": huge_header,
    "huge-folded-subject": huge_folded_subject,
    "many-headers": many_headers,
    "huge-content-type": huge_content_type,
    "big-attachment": big_attachment,
    "many-lines-body": many_lines_body,
}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from models.policy.config import Config
from models.store.db import Store
from models.mail.intake import gate
store = Store(sys.argv[2])
raw = open(sys.argv[1], "rb").read()
started = time.perf_counter()
outcome = gate(store, Config(), raw)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rss_mb": peak, "code": outcome.code, "line": outcome.line}))
"""


def _write(name: str, size: int, path: str) -> None:
    """Child mode: build one shape into a file (the measuring parent must stay small: a forked
    child starts with its parent's peak RSS as its own ru_maxrss)."""
    builders = {"(plain message)": lambda _size: HEAD % 0 + b"\r\nhello\r\n", **SHAPES}
    Path(path).write_bytes(builders[name](size))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--write":
        _write(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=25.0, help="MB per message (default 25)")
    parser.add_argument("--only", choices=sorted(SHAPES), action="append")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    size = int(args.size * 1024 * 1024) - 1024
    with tempfile.TemporaryDirectory() as tmp:
        # the baseline: the same child with a one-line message
        shapes = ["(plain message)", *SHAPES]
        print(f"{'shape':26} {'MB':>6} {'seconds':>8} {'peak RSS MB':>12}  outcome")
        worst = 0.0
        for name in shapes:
            if args.only and name not in args.only:
                continue
            path = Path(tmp) / f"{name}.eml"
            subprocess.run(
                [sys.executable, __file__, "--write", name, str(size), str(path)], check=True
            )
            megabytes = path.stat().st_size / 2**20
            url = f"sqlite:///{Path(tmp) / (name + '.db')}"
            try:
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path), url, str(ROOT)],
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                )
            except subprocess.TimeoutExpired:
                print(f"{name:26} {megabytes:6.1f}  > {args.timeout:.0f} s (killed)")
                continue
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{name:26} {megabytes:6.1f}  child failed: {tail}")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            worst = max(worst, result["rss_mb"])
            print(
                f"{name:26} {megabytes:6.1f} {result['seconds']:8.2f} "
                f"{result['rss_mb']:12.0f}  {result['code']} {result['line'][:60]}"
            )
        print(f"worst peak RSS: {worst:.0f} MB (goal <= 300 MB)")


if __name__ == "__main__":
    main()
