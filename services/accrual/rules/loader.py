"""Reading a programme: YAML to a checked document to values, with errors naming the entry."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from services.accrual.rules.document import (
    AgreementDoc,
    ConditionDoc,
    EffectiveDoc,
    ExclusionDoc,
    PeriodCapDoc,
    ProgrammeDoc,
    PromotionDoc,
    RuleDoc,
)
from services.accrual.rules.model import (
    Agreement,
    Condition,
    CustomerClass,
    DateRange,
    Exclusion,
    ExpiryPolicy,
    Multiplier,
    PeriodCap,
    PostingRule,
    Programme,
    Promotion,
)


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProgrammeError(ValueError):
    """A programme file that cannot be used, with every problem found."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source, self.problems = source, list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


def _path(data: Any, loc: Iterable[int | str]) -> str:
    """`agreements[2](gold).rules[0]` from a pydantic location and the raw data: each entry
    with an id is named, so that the reader finds it without counting."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            parts.append(f"[{step}]")
            node = node[step]
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                parts.append(f"({node['id']})")
        elif isinstance(node, dict) and (step in node or step in _field_names()):
            parts.append(f".{step}" if parts else str(step))
            if step not in node:
                break  # a missing field
            node = node[step]
        # anything else is a union member's tag, not a place in the file
    return "".join(parts)


def _field_names() -> set[str]:
    models = (ProgrammeDoc, RuleDoc, AgreementDoc, PromotionDoc, ConditionDoc, ExclusionDoc,
              EffectiveDoc, PeriodCapDoc)  # fmt: skip
    names = {"from"}
    for model in models:
        names |= set(model.model_fields)
    return names


def parse_yaml(text: str, source: str = "<programme>") -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProgrammeError(source, [Problem(where, f"not valid YAML: {problem}")]) from None


def check_document(data: Any, source: str = "<programme>") -> ProgrammeDoc:
    """Validate the file's content; every problem is reported with its path."""
    if not isinstance(data, dict):
        raise ProgrammeError(
            source, [Problem("", "a programme is a mapping (programme:, rules:, ...)")]
        )
    try:
        doc = ProgrammeDoc.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(_path(data, e["loc"]), e["msg"]) for e in exc.errors()]
        raise ProgrammeError(source, problems) from None
    problems = list(_cross_checks(doc))
    if problems:
        raise ProgrammeError(source, problems)
    return doc


def _range(doc: EffectiveDoc) -> DateRange:
    return DateRange(doc.from_, doc.to)


def _dupes(ids: Sequence[str], what: str, where: str) -> Iterable[Problem]:
    first: dict[str, int] = {}
    for i, entry_id in enumerate(ids):
        if entry_id in first:
            yield Problem(
                f"{where}[{i}].id", f"{what} {entry_id!r} is also {where}[{first[entry_id]}]"
            )
        first.setdefault(entry_id, i)


def _cross_checks(doc: ProgrammeDoc) -> Iterable[Problem]:
    yield from _dupes([r.id for r in doc.rules], "rule", "rules")
    yield from _dupes([a.id for a in doc.agreements], "agreement", "agreements")
    rules = {r.id: r for r in doc.rules}
    for i, agreement in enumerate(doc.agreements):
        where = f"agreements[{i}]({agreement.id})"
        known = []
        for j, rule_id in enumerate(agreement.rules):
            if rule_id in rules:
                known.append(rules[rule_id])
            else:
                yield Problem(f"{where}.rules[{j}]", f"unknown rule {rule_id!r}")
        for a, b in itertools.combinations(known, 2):
            if (a.event, a.currency) == (b.event, b.currency) and _range(a.effective).overlaps(
                _range(b.effective)
            ):
                yield Problem(
                    f"{where}.rules",
                    f"rules {a.id!r} and {b.id!r} both rate {a.event} in {a.currency} on "
                    f"overlapping dates ({_range(a.effective)} and {_range(b.effective)})",
                )
    for (i, first), (j, second) in itertools.combinations(enumerate(doc.agreements), 2):
        if _ambiguous(first, second):
            yield Problem(
                f"agreements[{j}]({second.id})",
                f"serves the same customers on the same dates as agreements[{i}]({first.id}) "
                "with equal specificity: narrow its segments, tiers or dates",
            )


def _ambiguous(a: AgreementDoc, b: AgreementDoc) -> bool:
    def meets(x: list[str] | None, y: list[str] | None) -> bool:
        return x is None or y is None or bool(set(x) & set(y))

    same_specificity = ((a.segments is None) == (b.segments is None)) and (
        (a.tiers is None) == (b.tiers is None)
    )
    return (
        same_specificity
        and meets(a.segments, b.segments)
        and meets(a.tiers, b.tiers)
        and _range(a.effective).overlaps(_range(b.effective))
    )


def _mcc_range(code: str) -> tuple[int, int]:
    low, _, high = code.partition("-")
    return int(low), int(high or low)


def _condition(doc: ConditionDoc | None) -> Condition:
    if doc is None:
        return Condition()
    return Condition(
        vendors=frozenset(doc.vendors) if doc.vendors is not None else None,
        partner=doc.partner,
        categories=frozenset(doc.categories) if doc.categories is not None else None,
        mccs=tuple(_mcc_range(c) for c in doc.mccs) if doc.mccs is not None else None,
        channels=frozenset(doc.channels) if doc.channels is not None else None,
    )


def _cap(doc: PeriodCapDoc | None) -> PeriodCap | None:
    return PeriodCap(doc.period, doc.points) if doc else None


def _exclusion(doc: ExclusionDoc) -> Exclusion:
    return Exclusion(doc.id, doc.reason, _condition(doc.when))


def _promotion(doc: PromotionDoc) -> Promotion:
    return Promotion(
        id=doc.id,
        effective=_range(doc.effective),
        when=_condition(doc.when),
        multiplier=Fraction(doc.multiplier) if doc.multiplier is not None else None,
        bonus_points=doc.bonus_points,
        minimum_amount_cents=doc.minimum_amount_cents,
        cap_per_transaction=doc.cap_per_transaction,
        cap_per_period=_cap(doc.cap_per_period),
    )


def _rule(doc: RuleDoc, version: int) -> PostingRule:
    return PostingRule(
        id=doc.id,
        version=version,
        event=doc.event,
        currency=doc.currency,
        points=doc.rate.points,
        per_amount_cents=doc.rate.per_amount_cents,
        effective=_range(doc.effective),
        rounding=doc.rounding,
        minimum_amount_cents=doc.minimum_amount_cents,
        multipliers=tuple(
            Multiplier(m.id, _condition(m.when), Fraction(m.factor)) for m in doc.multipliers
        ),
        promotions=tuple(_promotion(p) for p in doc.promotions),
        exclusions=tuple(_exclusion(e) for e in doc.exclusions),
        cap_per_transaction=doc.cap_per_transaction,
        cap_per_period=_cap(doc.cap_per_period),
        description=doc.description,
    )


def compile_programme(
    doc: ProgrammeDoc, rule_versions: Mapping[str, int] | None = None, version: int = 0
) -> Programme:
    """The document as values; rules carry the versions they were stored under (0 if not)."""
    versions = rule_versions or {}
    rules = {r.id: _rule(r, versions.get(r.id, 0)) for r in doc.rules}
    return Programme(
        name=doc.programme,
        timezone=doc.timezone,
        default_class=CustomerClass(doc.default_class.segment, doc.default_class.tier),
        currencies={
            name: ExpiryPolicy(c.expiry.months if c.expiry.policy == "end_of_month" else None)
            for name, c in doc.currencies.items()
        },
        agreements=tuple(
            Agreement(
                id=a.id,
                rules=tuple(rules[r] for r in a.rules),
                segments=frozenset(a.segments) if a.segments is not None else None,
                tiers=frozenset(a.tiers) if a.tiers is not None else None,
                effective=_range(a.effective),
                description=a.description,
            )
            for a in doc.agreements
        ),
        exclusions=tuple(_exclusion(e) for e in doc.exclusions),
        version=version,
    )


def canonical(doc: ProgrammeDoc | RuleDoc) -> bytes:
    """The content that versions are computed over: key order and YAML layout do not count."""
    return orjson.dumps(doc.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)


def digest(doc: ProgrammeDoc | RuleDoc) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()


def next_rule_versions(doc: ProgrammeDoc, stored: Mapping[str, tuple[int, str]]) -> dict[str, int]:
    """Each rule's version: the stored one if its content is unchanged, else the next one.

    `stored` maps rule id -> (latest version, its digest)."""
    versions = {}
    for rule in doc.rules:
        latest, latest_digest = stored.get(rule.id, (0, ""))
        versions[rule.id] = latest if latest_digest == digest(rule) else latest + 1
    return versions


def load_text(text: str, source: str = "<programme>") -> ProgrammeDoc:
    return check_document(parse_yaml(text, source), source)


def with_versions(programme: Programme, versions: Mapping[str, int], version: int) -> Programme:
    """The same programme with stored version numbers."""
    agreements = tuple(
        replace(a, rules=tuple(replace(r, version=versions.get(r.id, r.version)) for r in a.rules))
        for a in programme.agreements
    )
    return replace(programme, agreements=agreements, version=version)
