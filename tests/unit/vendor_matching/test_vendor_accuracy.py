"""The matcher measured on the labelled descriptor set shipped in `data/`.

Measured last with the distinctive-word margin on (8) and the gazetteer and
trade vocabulary extended (2,344 rows over 243 vendors; 1,660 name a
registered vendor, 684 name none: bank fees, transfers, unregistered
merchants, and 160 rows of *lookalikes*, unregistered businesses carrying a
registered vendor's word, `PEDROS PANELBEATERS`, `INTERCAPE FERRIES`, of which
the last 60 were held out until measured):

- every row: precision 0.9969 (1,610 of 1,615 claims right), recall 0.9699;
- registered vendors: no claim named the wrong vendor;
- no-vendor rows accepted: 0 of 524 ordinary ones, 5 of 160 lookalikes (0.73%
  of all 684; the lookalikes are many times more frequent here than in a
  bank's traffic, which is why they are also bounded on their own);
- ordinary unknowns sent to review: 77 of 524 (14.7%).

The floors leave room for small shifts from lexicon edits while failing on a
real regression. A bank can live with a few percent of transactions in review,
not with points booked to the wrong vendor, so precision has the tighter floor.
"""

from collections import Counter

import pytest

from services.vendor_matching.data import data_path
from services.vendor_matching.data.generate_eval import generate, render
from services.vendor_matching.evaluation import evaluate, labelled_descriptors, seed_vendors
from services.vendor_matching.normalise import card_acceptor_name, compact, normalise_descriptor

PRECISION_FLOOR = 0.99
RECALL_FLOOR = 0.95
UNKNOWN_ACCEPTED_CEILING = 0.01  # ordinary no-vendor rows: the target
ALL_UNKNOWN_ACCEPTED_CEILING = 0.01  # with the lookalikes: 5 of 684 when measured
LOOKALIKE_ACCEPTED_CEILING = 0.05  # 5 of 160 when measured
UNKNOWN_REVIEW_CEILING = 0.2
NOISE = (
    "branch", "store_no", "truncated", "typo", "short_name", "unknown", "handwritten",
    "statement", "bank_prefix", "bank_suffix", "processor", "card_mask", "date", "amount",
    "title_case", "lookalike",
)  # fmt: skip


@pytest.fixture(scope="module")
def rows():
    return labelled_descriptors()


def _tags(row):
    return row.noise.split()


def test_the_labelled_set_is_large_noisy_and_spans_the_master(rows):
    assert len(rows) >= 2_000
    assert len({row.expected_vendor_id for row in rows if row.expected_vendor_id}) >= 200
    assert sum(row.expected_vendor_id is None for row in rows) >= 400
    assert all(len(row.query.descriptor) <= 40 for row in rows)
    noise = Counter(tag for row in rows for tag in _tags(row))
    for tag in NOISE:
        assert noise[tag] >= 20, tag


def test_the_labelled_set_is_not_just_the_aliases_again(rows):
    vendors = seed_vendors()
    written = {text.upper() for v in vendors for text in (v.name, *v.aliases)}
    assert sum(row.query.descriptor.upper() in written for row in rows) < len(rows) * 0.05
    normalised = {compact(normalise_descriptor(t)) for v in vendors for t in (v.name, *v.aliases)}
    exact = sum(
        compact(normalise_descriptor(card_acceptor_name(row.query.descriptor))) in normalised
        for row in rows
    )
    assert exact < len(rows) * 0.5


def test_the_shipped_set_is_what_the_generator_writes():
    generated = render(generate(seed_vendors()))
    shipped = data_path("descriptors_eval.csv").read_text(encoding="utf-8")
    assert shipped.startswith(generated)


def test_vendors_are_recognised_precisely_and_nearly_always(seed_engine, rows):
    report = evaluate(seed_engine, rows)
    assert report.precision >= PRECISION_FLOOR, report.wrong
    assert report.recall >= RECALL_FLOOR, report.missed


def test_the_handwritten_descriptors_alone_meet_the_same_floors(seed_engine, rows):
    handwritten = [row for row in rows if "handwritten" in row.noise.split()]
    report = evaluate(seed_engine, handwritten)
    assert report.precision >= PRECISION_FLOOR, report.wrong
    assert report.recall >= RECALL_FLOOR, report.missed


def test_descriptors_without_any_key_still_meet_the_floors(seed_engine, rows):
    text_only = [row for row in rows if not (row.query.merchant_id or row.query.user_code)]
    report = evaluate(seed_engine, text_only)
    assert report.precision >= PRECISION_FLOOR, report.wrong
    assert report.recall >= RECALL_FLOOR, report.missed


def test_registered_vendors_are_never_confused_with_each_other(seed_engine, rows):
    registered = [row for row in rows if row.expected_vendor_id is not None]
    report = evaluate(seed_engine, registered)
    assert report.wrong == []
    assert report.recall >= RECALL_FLOOR, report.missed


def test_bank_statement_lines_alone_meet_the_floors(seed_engine, rows):
    # Their unknowns include half the lookalikes, hence a point less of precision
    # (0.9905 when measured: 418 of 422).
    statement = [row for row in rows if "statement" in _tags(row)]
    report = evaluate(seed_engine, statement)
    assert report.precision >= PRECISION_FLOOR - 0.01, report.wrong
    assert report.recall >= RECALL_FLOOR, report.missed


def test_descriptors_of_no_registered_vendor_are_rarely_claimed(seed_engine, rows):
    unknown = [row for row in rows if row.expected_vendor_id is None]
    results = seed_engine.match_many(row.query for row in unknown)
    claimed = [row for row, result in zip(unknown, results, strict=True) if result.matched]
    ordinary = [row for row in unknown if "lookalike" not in _tags(row)]
    lookalikes = [row for row in unknown if "lookalike" in _tags(row)]
    claimed_lookalikes = [row for row in claimed if "lookalike" in _tags(row)]
    assert len(claimed) - len(claimed_lookalikes) <= len(ordinary) * UNKNOWN_ACCEPTED_CEILING
    assert len(claimed) <= len(unknown) * ALL_UNKNOWN_ACCEPTED_CEILING
    assert len(claimed_lookalikes) <= len(lookalikes) * LOOKALIKE_ACCEPTED_CEILING


def test_ordinary_unknowns_mostly_pass_without_review(seed_engine, rows):
    ordinary = [r for r in rows if r.expected_vendor_id is None and "lookalike" not in _tags(r)]
    results = seed_engine.match_many(row.query for row in ordinary)
    assert sum(result.needs_review for result in results) <= len(ordinary) * UNKNOWN_REVIEW_CEILING
