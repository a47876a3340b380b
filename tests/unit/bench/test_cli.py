"""`loyalty bench`: one group, whichever plugin registers first; e2e's options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from shared.bench import cli
from shared.cli_groups import bench_actions

Register = Callable[[Any], None]


def _parser(*registrations: Register) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loyalty")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in registrations:
        register(sub)
    return parser


def _matching(sub: Any) -> None:
    """What another module's plugin does to add its own benchmark."""
    bench_actions(sub).add_parser("matching").set_defaults(func="matching")


@pytest.mark.parametrize("order", [(cli.register, _matching), (_matching, cli.register)])
def test_benchmarks_of_several_modules_share_the_bench_group_in_any_order(
    order: tuple[Register, Register],
) -> None:
    parser = _parser(*order)
    assert parser.parse_args(["bench", "matching"]).func == "matching"
    assert parser.parse_args(["bench", "e2e"]).func is cli._e2e


def test_e2e_defaults_are_the_issues_targets() -> None:
    args = _parser(cli.register).parse_args(["bench", "e2e"])
    assert (args.transactions, args.customers, args.redeem_rate) == (10_000, 100_000, 500.0)
    assert (args.json, args.no_ceiling, args.output) == (False, False, None)
    assert (args.programme, args.programme_in_force) == (None, False)  # None: the flat rule


def test_e2e_options() -> None:
    args = _parser(cli.register).parse_args(
        ["bench", "e2e", "--transactions", "2000", "--customers", "500", "--redeem-rate", "0",
         "--json", "--no-ceiling"]
    )  # fmt: skip
    assert (args.transactions, args.customers, args.redeem_rate) == (2_000, 500, 0.0)
    assert args.json
    assert args.no_ceiling


@pytest.mark.parametrize(
    "argv",
    [["--transactions", "0"], ["--transactions", "ten"], ["--redeem-rate", "-1"]],
)
def test_e2e_refuses_nonsense(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser(cli.register).parse_args(["bench", "e2e", *argv])
    assert "argument" in capsys.readouterr().err


def test_bench_alone_asks_for_a_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser(cli.register).parse_args(["bench"])
    assert "BENCHMARK" in capsys.readouterr().err
