"""`loyalty bench matching` runs and reports what the issue asks for (never how fast:
timing is asserted nowhere)."""

import argparse

import pytest

from services.vendor_matching import bench_cli
from services.vendor_matching.bench import grown_master, run_matching_bench
from services.vendor_matching.evaluation import labelled_descriptors, seed_vendors
from services.vendor_matching.normalise import normalise_descriptor


@pytest.fixture(scope="module")
def report():
    return run_matching_bench(
        400, 300, repeats=1, latency_sample=200, naive_sample=2, with_accuracy=True
    )


def test_the_report_has_load_memory_throughput_latency_and_accuracy(report):
    assert report["vendors"] == 400
    assert report["vendor_rows_rejected"] == 0
    assert report["queries"] == 300
    for kind in ("uncached", "cached"):
        assert set(report[kind]) == {"per_cpu_s_best", "per_cpu_s_median", "per_wall_s_best"}
    assert set(report["latency_uncached"]) == {"p50_us", "p99_us", "p999_us", "max_us"}
    assert report["rss_mib_with_engine"] > 0
    for key in ("accuracy_seed_master", "accuracy_grown_master"):
        accuracy = report[key]
        assert accuracy["rows"] >= 2_000
        assert 0 <= accuracy["precision"] <= 1
        assert 0 <= accuracy["recall"] <= 1


def test_growing_the_master_changes_no_labelled_answer(report):
    # The made-up vendors avoid every word a labelled descriptor could be read as,
    # so the labels stay true with 400 vendors as with the seed master.
    assert (
        report["accuracy_grown_master"]["precision"]
        == (report["accuracy_seed_master"]["precision"])
    )
    assert report["accuracy_grown_master"]["recall"] == report["accuracy_seed_master"]["recall"]


def test_the_grown_master_has_the_size_asked_and_unique_names():
    vendors = grown_master(len(seed_vendors()) + 500)
    assert len(vendors) == len(seed_vendors()) + 500
    names = [normalise_descriptor(v.name).replace(" ", "") for v in vendors]
    assert len(set(names)) == len(names)
    assert len(labelled_descriptors()) >= 2_000


def test_the_command_joins_a_bench_group_another_plugin_may_have_made():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    other = sub.add_parser("bench").add_subparsers(dest="benchmark")
    other.add_parser("e2e").set_defaults(func="e2e")  # another plugin's benchmark
    bench_cli.register(sub)
    args = parser.parse_args(["bench", "matching", "--vendors", "500", "--json"])
    assert (args.vendors, args.queries, args.json) == (500, 100_000, True)
    assert args.func is bench_cli._matching
    assert parser.parse_args(["bench", "e2e"]).func == "e2e"


def test_the_command_makes_the_bench_group_when_it_is_first():
    parser = argparse.ArgumentParser()
    bench_cli.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["bench", "matching"]).vendors == 10_000


def test_the_summary_names_every_figure(report):
    text = bench_cli.summary({**report, "machine": {"cpu": "test", "cpus": 2, "python": "3"}})
    for phrase in ("descriptors/s on one core", "p99", "MiB", "precision", "recall"):
        assert phrase in text
