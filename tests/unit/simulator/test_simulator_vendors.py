"""The simulator's vendor master is a valid import file for `loyalty vendors import`."""

from __future__ import annotations

import csv

from services.vendor_matching.vendors_csv import parse_vendor_csv
from shared.simulator.vendors import CSV_HEADER, VENDORS, vendor_rows, write_vendor_csv

NAMED = {"Woolworths", "Pick n Pay", "Checkers", "Engen", "Shell", "Vodacom", "Takealot",
         "Dis-Chem", "Clicks", "Nando's"}  # fmt: skip


def test_the_well_known_south_african_vendors_are_listed():
    listed = {row["name"] for row in vendor_rows()}
    assert NAMED.issubset(listed)


def test_the_csv_imports_without_a_rejected_row(tmp_path):
    path = write_vendor_csv(tmp_path / "sim-vendors.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        vendors, errors = parse_vendor_csv(handle)
    assert errors == []
    assert {v.vendor_id for v in vendors} == {row["vendor_id"] for row in vendor_rows()}


def test_the_csv_has_the_import_header_and_pipe_separated_lists(tmp_path):
    path = write_vendor_csv(tmp_path / "sim-vendors.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert tuple(rows[0]) == CSV_HEADER
    woolworths = next(r for r in rows if r[0] == "woolworths")
    assert len(woolworths[5].split("|")) > 1


def test_merchant_ids_are_stable_and_belong_to_one_vendor_only():
    owners: dict[str, str] = {}
    for vendor in VENDORS:
        for mid in vendor.merchant_ids:
            assert owners.setdefault(mid, vendor.vendor_id) == vendor.vendor_id
    # Derived from the vendor id alone: the same on every machine and in every run.
    assert VENDORS[0].merchant_ids[0] == "983786692564982"


def test_unlisted_merchants_are_simulated_but_not_imported():
    unlisted = {v.vendor_id for v in VENDORS if not v.listed}
    assert unlisted
    assert unlisted.isdisjoint(row["vendor_id"] for row in vendor_rows())
