"""`loyalty vendors match --vendors FILE.csv`: the matcher offline, stdin to stdout.

For back-filling history and measuring accuracy: no broker, no database. Each
input line is a descriptor, or a JSON object with `descriptor` and optionally
`merchant_id`, `user_code`, `mcc` and `channel`. Each output line is one JSON
object, in input order:

    {"descriptor": "...", "decision": "accepted", "vendor_id": "woolworths",
     "method": "fuzzy", "confidence": 0.93,
     "candidates": [{"vendor_id": "woolworths", "confidence": 0.93}]}

`decision` is `accepted` (a vendor is named), `review` (a person should choose
among the candidates) or `unmatched`; `vendor_id` is null unless accepted.
Confidences are in [0, 1] here (the service's messages carry 0..100). A line
that cannot be read gets `"decision": "error"` and an `error`, so that output
line N still answers input line N.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final

import orjson

from services.vendor_matching.domain import MatchQuery, MatchResult
from services.vendor_matching.engine import MatchingEngine
from services.vendor_matching.vendors_csv import parse_vendor_csv

CHUNK: Final = 4_096
_QUERY_FIELDS: Final = ("merchant_id", "user_code", "mcc", "channel")


class LineError(ValueError):
    """An input line that is not a descriptor."""


def register_match(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    match = actions.add_parser(
        "match",
        help="match descriptors from stdin against a vendor CSV; JSON lines on stdout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    match.add_argument(
        "--vendors", type=Path, required=True, metavar="FILE.csv", help="the vendor master CSV"
    )
    match.set_defaults(func=_match)


def parse_line(line: str) -> MatchQuery:
    """A descriptor as written, or a JSON object with one."""
    text = line.rstrip("\r\n")
    if not text.lstrip().startswith("{"):
        return MatchQuery(descriptor=text)
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise LineError(f"not valid JSON: {error}") from None
    descriptor = record.get("descriptor") if isinstance(record, dict) else None
    if not isinstance(descriptor, str):
        raise LineError("a JSON line needs a string descriptor")
    fields: dict[str, str | None] = {}
    for name in _QUERY_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise LineError(f"{name} must be a string or null")
        fields[name] = value
    return MatchQuery(descriptor=descriptor, **fields)


def answer(query: MatchQuery, result: MatchResult) -> dict[str, Any]:
    """The output object for one query."""
    if result.matched:
        decision = "accepted"
    elif result.needs_review:
        decision = "review"
    else:
        decision = "unmatched"
    return {
        "descriptor": query.descriptor,
        "decision": decision,
        "vendor_id": result.vendor_id,
        "method": result.method,
        "confidence": result.confidence / 100,
        "candidates": [
            {"vendor_id": c.vendor_id, "confidence": c.confidence / 100} for c in result.candidates
        ],
    }


def match_lines(engine: MatchingEngine, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One output object per input line, in order, matched a chunk at a time."""
    source = iter(lines)
    while chunk := list(islice(source, CHUNK)):
        parsed: list[MatchQuery | str] = []
        for line in chunk:
            try:
                parsed.append(parse_line(line))
            except LineError as error:
                parsed.append(str(error))
        queries = [item for item in parsed if isinstance(item, MatchQuery)]
        results = iter(engine.match_many(queries))
        for line, item in zip(chunk, parsed, strict=True):
            if isinstance(item, str):
                yield {"line": line.rstrip("\r\n"), "decision": "error", "error": item}
            else:
                yield answer(item, next(results))


def load_engine(path: Path, errors_to: IO[str]) -> MatchingEngine | None:
    """The engine over a vendor CSV; bad rows are reported and skipped."""
    with path.open(encoding="utf-8", newline="") as handle:
        vendors, errors = parse_vendor_csv(handle)
    for error in errors:
        print(f"{path}:{error.line_no}: skipped: {error.reason}", file=errors_to)
    return MatchingEngine.build(vendors) if vendors else None


def _match(args: argparse.Namespace) -> int:
    path: Path = args.vendors
    if not path.is_file():
        print(f"loyalty vendors match: no such file: {path}", file=sys.stderr)
        return 2
    engine = load_engine(path, sys.stderr)
    if engine is None:
        print(f"loyalty vendors match: no valid vendor in {path}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    failed = False
    for record in match_lines(engine, sys.stdin):
        failed = failed or record["decision"] == "error"
        out.write(orjson.dumps(record) + b"\n")
    out.flush()
    return 1 if failed else 0
