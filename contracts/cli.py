"""`loyalty contracts gen|check|list`: generated schemas, drift and compatibility checks."""

from __future__ import annotations

import argparse

from contracts import tools
from contracts.registry import TOPICS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    contracts = sub.add_parser("contracts", help="message contracts: schemas, checks, catalogue")
    actions = contracts.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("gen", help="write the JSON Schemas and AsyncAPI documents").set_defaults(
        func=_gen
    )
    actions.add_parser(
        "check", help="fail on drift from the models or a breaking change to a released version"
    ).set_defaults(func=_check)
    actions.add_parser("list", help="the topic catalogue").set_defaults(func=_list)


def _gen(args: argparse.Namespace) -> int:
    from shared.asyncapi import write_asyncapi  # noqa: PLC0415  (imports every service)

    del args
    written = [*tools.write_all(), *write_asyncapi()]
    print(f"{len(written)} file(s) written" + "".join(f"\n  {p}" for p in written))
    return 0


def _check(args: argparse.Namespace) -> int:
    from shared.asyncapi import check_asyncapi  # noqa: PLC0415

    del args
    problems = [*tools.check_drift(), *check_asyncapi(), *tools.check_compatibility()]
    for problem in problems:
        print(problem)
    print("contracts: ok" if not problems else f"contracts: {len(problems)} problem(s)")
    return 1 if problems else 0


def _list(args: argparse.Namespace) -> int:
    del args
    print(catalogue_markdown())
    return 0


def catalogue_markdown() -> str:
    lines = [
        "| topic | key | partitions | producers | consumers | description |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{t.name}` | {t.key} | {t.partitions} | {', '.join(t.producers)} | "
        f"{', '.join(t.consumers)} | {t.description} |"
        for t in TOPICS.values()
    ]
    lines.append("")
    lines.append("Every topic `T` has a dead-letter topic `T.dlq` with the same partitions.")
    return "\n".join(lines)
