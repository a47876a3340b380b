"""The benchmark's generated DOEXEC file is a valid one (pure; no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from services.debit_orders.bench import generate_doexec, measure_decode
from services.debit_orders.doexec import iter_doexec_details, scan_doexec


def test_the_generated_file_is_accepted_with_its_own_totals(tmp_path: Path) -> None:
    path = tmp_path / "bench.dat"
    total, hashed = generate_doexec(path, 1_234, "BENCH1")
    scan = scan_doexec(path)
    assert (scan.file_id, scan.details, scan.rejects) == ("BENCH1", 1_234, [])
    assert (scan.total_amount, scan.hash_total) == (total, hashed)
    details = list(iter_doexec_details(path))
    assert [d.sequence_no for d in details] == list(range(1, 1_235))
    assert sum(d.status == "02" for d in details) == 123
    assert len({d.customer_no for d in details}) == 1_234  # fewer than 10,000: all distinct


def test_measure_decode_reports_rates_for_every_record(tmp_path: Path) -> None:
    path = tmp_path / "bench.dat"
    generate_doexec(path, 500, "BENCH2")
    report = measure_decode(path, 500, repeats=2)
    assert report["records"] == 500
    assert report["decode_per_cpu_s_best"] >= report["decode_per_cpu_s_median"] > 0
    assert report["scan_per_cpu_s_best"] >= report["scan_per_cpu_s_median"] > 0
