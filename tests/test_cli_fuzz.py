"""Fuzzed command lines (tests/cli_fuzz_support.py): every invocation ends with exit 0, 1, 2, 65
or 75, a failure says why in one line, no traceback, no "internal error", nothing hangs.
CI size here; bench/cli_fuzz_bench.py runs 500 and prints the counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_fuzz_support import fuzz


@pytest.mark.parametrize("seed", [13, 2026])
def test_fuzzed_invocations_fail_in_one_line_never_with_a_traceback(
    tmp_path: Path, seed: int
) -> None:
    report = fuzz(tmp_path, seed, count=100)
    problems = [f"{o.problem} <- {o.args} env={o.env}" for o in report.problems]
    assert problems == []
    codes = report.counts()
    # the fuzzer reaches past option parsing: successes and refusals of several kinds
    assert codes["exit 0"] >= 5 and codes["exit 2"] >= 5 and codes["exit 65"] >= 1, codes
