"""The consumer's NUL check: an escaped NUL is refused, an escaped backslash before `u0000`
is ordinary text."""

from __future__ import annotations

import json

import pytest

from shared.messaging.consumer import _has_nul


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain descriptor", False),
        ("NUL \x00 inside", True),
        ("\x00", True),
        ("a backslash then u0000: \\u0000", False),  # the text is `\u0000`, six characters
        ("two backslashes then NUL: \\\\\x00", True),
        ("\\\x00", True),
    ],
)
def test_an_escaped_nul_is_found_and_escaped_text_is_not(text: str, expected: bool) -> None:
    canonical = json.dumps({"descriptor": text}).encode()
    assert _has_nul(canonical) is expected
