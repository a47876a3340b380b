"""Command groups that several modules add to: `loyalty bench ...` and `loyalty report ...`.

A plugin adds its own sub-command with, for instance,
`bench_actions(subparsers).add_parser("matching", ...)` from its `register(subparsers)`.
Whichever plugin runs first creates the group, so the order of PLUGINS does not matter.
"""

from __future__ import annotations

import argparse
from typing import Any

SubParsers = argparse._SubParsersAction  # noqa: SLF001 (argparse exposes no public name)


def command_group(
    subparsers: SubParsers[argparse.ArgumentParser],
    name: str,
    *,
    summary: str,
    description: str,
    dest: str,
) -> SubParsers[Any]:
    """The sub-commands of `loyalty NAME`, creating the group if nobody has yet."""
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=summary, description=description)
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action
    return parser.add_subparsers(dest=dest, required=True, metavar=dest.upper())


def bench_actions(subparsers: SubParsers[argparse.ArgumentParser]) -> SubParsers[Any]:
    """`loyalty bench ...`: benchmarks as commands, never timed tests."""
    return command_group(
        subparsers,
        "bench",
        summary="benchmarks against a running platform (timing lives here, not in tests)",
        description="Benchmarks. Each prints a human summary, or JSON with --json.",
        dest="benchmark",
    )


def report_actions(subparsers: SubParsers[argparse.ArgumentParser]) -> SubParsers[Any]:
    """`loyalty report ...`: reports for finance and marketing, human or --json."""
    return command_group(
        subparsers,
        "report",
        summary="reports: liability, issue cohorts, promotion response, tiers",
        description="Reports. Each prints a table, or JSON with --json.",
        dest="report",
    )
