"""Measure the matcher on the labelled descriptor set.

A row is a positive when it names a vendor. The engine "claims" a vendor when
it returns one (exact or fuzzy); a `review` or `none` result claims nothing.
Precision is the share of claims that are right; recall is the share of
positives claimed correctly.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.vendor_matching.data import data_path
from services.vendor_matching.domain import MatchQuery, MatchResult, Vendor
from services.vendor_matching.engine import MatchingEngine
from services.vendor_matching.vendors_csv import parse_vendor_csv


@dataclass(frozen=True, slots=True)
class LabelledDescriptor:
    query: MatchQuery
    expected_vendor_id: str | None
    noise: str


@dataclass(slots=True)
class EvaluationReport:
    rows: int = 0
    positives: int = 0
    claimed: int = 0
    correct: int = 0
    wrong: list[tuple[LabelledDescriptor, MatchResult]] = field(default_factory=list)
    missed: list[tuple[LabelledDescriptor, MatchResult]] = field(default_factory=list)
    reviews: int = 0
    reviews_with_answer: int = 0
    unknown_reviews: int = 0
    methods: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.correct / self.claimed if self.claimed else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.positives if self.positives else 1.0

    def summary(self) -> dict[str, float | int]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "claimed": self.claimed,
            "correct": self.correct,
            "wrong": len(self.wrong),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "reviews": self.reviews,
            "reviews_listing_right_vendor": self.reviews_with_answer,
            "unknowns_sent_to_review": self.unknown_reviews,
            **{f"method_{method}": count for method, count in sorted(self.methods.items())},
        }


def seed_vendors() -> list[Vendor]:
    """The vendor master shipped in `data/vendors.csv`."""
    with data_path("vendors.csv").open(newline="", encoding="utf-8") as file:
        vendors, errors = parse_vendor_csv(file)
    if errors:
        raise ValueError(f"vendors.csv has invalid rows: {errors}")
    return vendors


def labelled_descriptors(name: str = "descriptors_eval.csv") -> list[LabelledDescriptor]:
    """The labelled evaluation set shipped in `data/`."""
    with data_path(name).open(newline="", encoding="utf-8") as file:
        return [
            LabelledDescriptor(
                query=MatchQuery(
                    merchant_id=row["merchant_id"] or None,
                    user_code=row["user_code"] or None,
                    descriptor=row["descriptor"],
                    channel=row["channel"] or None,
                ),
                expected_vendor_id=row["expected_vendor_id"] or None,
                noise=row.get("noise", ""),
            )
            for row in csv.DictReader(file)
        ]


def evaluate(engine: MatchingEngine, rows: Sequence[LabelledDescriptor]) -> EvaluationReport:
    report = EvaluationReport()
    results = engine.match_many(row.query for row in rows)
    for row, result in zip(rows, results, strict=True):
        report.rows += 1
        report.methods[result.method] += 1
        if row.expected_vendor_id is not None:
            report.positives += 1
        if result.vendor_id is not None:
            report.claimed += 1
            if result.vendor_id == row.expected_vendor_id:
                report.correct += 1
            else:
                report.wrong.append((row, result))
        elif row.expected_vendor_id is not None:
            report.missed.append((row, result))
        if result.needs_review:
            report.reviews += 1
            listed = {candidate.vendor_id for candidate in result.candidates}
            report.reviews_with_answer += row.expected_vendor_id in listed
            report.unknown_reviews += row.expected_vendor_id is None
    return report
