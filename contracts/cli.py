"""`loyalty contracts gen|check|list|release`: generated documents, drift and compatibility
checks, the topic catalogue. Also runs on its own: `python -m contracts.cli gen`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts import tools
from contracts.registry import TOPICS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `contracts` command to a parser's sub-commands."""
    contracts = sub.add_parser("contracts", help="message contracts: schemas, checks, catalogue")
    contracts.add_argument(
        "--root",
        type=Path,
        default=tools.ROOT,
        help="the contracts directory (default: %(default)s)",
    )
    actions = contracts.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("gen", help="write the JSON Schemas and AsyncAPI documents").set_defaults(
        func=_gen
    )
    actions.add_parser(
        "check", help="fail on drift from the models or a breaking change to a released schema"
    ).set_defaults(func=_check)
    listing = actions.add_parser("list", help="the topic catalogue")
    listing.add_argument("--markdown", action="store_true", help="as the README's table")
    listing.set_defaults(func=_list)
    releasing = actions.add_parser(
        "release", help="freeze the current schema of topics as their released baseline"
    )
    releasing.add_argument("topics", nargs="+", choices=sorted(TOPICS), metavar="TOPIC")
    releasing.set_defaults(func=_release)


def _gen(args: argparse.Namespace) -> int:
    written = tools.write_all(args.root)
    print(f"{len(written)} file(s) written" + "".join(f"\n  {p}" for p in written))
    return 0


def _check(args: argparse.Namespace) -> int:
    problems = [*tools.check_drift(args.root), *tools.check_compatibility(args.root)]
    for problem in problems:
        print(problem)
    print("contracts: ok" if not problems else f"contracts: {len(problems)} problem(s)")
    return 1 if problems else 0


def _list(args: argparse.Namespace) -> int:
    if args.markdown:
        print(tools.topic_catalogue_markdown())
        return 0
    rows = [("TOPIC", "KEY", "PARTITIONS", "PRODUCERS", "CONSUMERS")]
    rows += [
        (t.name, t.key, str(t.partitions), ", ".join(t.producers), ", ".join(t.consumers))
        for t in TOPICS.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _release(args: argparse.Namespace) -> int:
    status = 0
    for topic in args.topics:
        try:
            print(f"released {tools.release(topic, args.root)}")
        except ValueError as exc:
            print(exc)
            status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["contracts", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
