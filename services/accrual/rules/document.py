"""The programme file's schema: what an operator may write, validated field by field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StrictBool,
    field_validator,
    model_validator,
)

from services.accrual.rules.model import EventType

Id = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        max_length=80,
        description="Lower-case letters, digits, '.', '_' and '-'.",
    ),
]
Names = Annotated[list[str], Field(min_length=1)]
CurrencyName = Literal["points", "tier_points"]


def _mcc_text(value: object) -> object:
    """YAML reads 5411 as a number; a merchant category code is four digits of text."""
    return f"{value:04d}" if isinstance(value, int) and not isinstance(value, bool) else value


Mcc = Annotated[str, BeforeValidator(_mcc_text), Field(pattern=r"^\d{4}(-\d{4})?$")]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EffectiveDoc(Entry):
    """Inclusive dates in the programme's time zone; an open end runs for ever."""

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self


class ConditionDoc(Entry):
    vendors: Names | None = None
    partner: StrictBool | None = None
    categories: Names | None = None
    mccs: Annotated[list[Mcc], Field(min_length=1)] | None = None
    channels: Names | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError(
                "a condition needs at least one of " + ", ".join(type(self).model_fields)
            )
        for code in self.mccs or ():
            low, _, high = code.partition("-")
            if high and high < low:
                raise ValueError(f"MCC range {code} runs backwards")
        return self


class ExclusionDoc(Entry):
    id: Id
    reason: str = Field(min_length=1)
    when: ConditionDoc


class MultiplierDoc(Entry):
    id: Id
    when: ConditionDoc
    factor: Decimal = Field(gt=0, le=100)


class PeriodCapDoc(Entry):
    period: Literal["day", "month", "year"]
    points: PositiveInt


class PromotionDoc(Entry):
    id: Id
    description: str = ""
    effective: EffectiveDoc
    when: ConditionDoc | None = None
    multiplier: Decimal | None = Field(default=None, gt=1, le=100)
    bonus_points: PositiveInt | None = None
    minimum_amount_cents: NonNegativeInt = 0
    cap_per_transaction: PositiveInt | None = None
    cap_per_period: PeriodCapDoc | None = None

    @model_validator(mode="after")
    def _one_bonus_and_dates(self) -> Self:
        if (self.multiplier is None) == (self.bonus_points is None):
            raise ValueError("a promotion gives either 'multiplier' or 'bonus_points'")
        if self.effective.from_ is None or self.effective.to is None:
            raise ValueError("a promotion runs between two dates: give 'from' and 'to'")
        return self


class RateDoc(Entry):
    points: PositiveInt
    per_amount_cents: PositiveInt


def _unique_ids(
    kind: str, entries: list[MultiplierDoc] | list[PromotionDoc] | list[ExclusionDoc]
) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise ValueError(f"{kind} id {entry.id!r} appears twice")
        seen.add(entry.id)


class RuleDoc(Entry):
    id: Id
    description: str = ""
    event: EventType
    currency: CurrencyName
    effective: EffectiveDoc = EffectiveDoc()
    rate: RateDoc
    rounding: Literal["down", "half_up", "up"] = "down"
    minimum_amount_cents: NonNegativeInt = 0
    multipliers: list[MultiplierDoc] = []
    promotions: list[PromotionDoc] = []
    exclusions: list[ExclusionDoc] = []
    cap_per_transaction: PositiveInt | None = None
    cap_per_period: PeriodCapDoc | None = None

    @model_validator(mode="after")
    def _ids(self) -> Self:
        _unique_ids("multiplier", self.multipliers)
        _unique_ids("promotion", self.promotions)
        _unique_ids("exclusion", self.exclusions)
        return self


class AgreementDoc(Entry):
    id: Id
    description: str = ""
    segments: Names | None = Field(default=None, description="Omitted: every segment.")
    tiers: Names | None = Field(default=None, description="Omitted: every tier.")
    effective: EffectiveDoc = EffectiveDoc()
    rules: Annotated[list[Id], Field(min_length=1)]


class ExpiryDoc(Entry):
    policy: Literal["end_of_month", "never"]
    months: NonNegativeInt | None = None

    @model_validator(mode="after")
    def _months(self) -> Self:
        if (self.policy == "end_of_month") != (self.months is not None):
            raise ValueError("'end_of_month' needs 'months'; 'never' takes none")
        return self


class CurrencyDoc(Entry):
    description: str = ""
    expiry: ExpiryDoc


class ClassDoc(Entry):
    segment: str = Field(min_length=1)
    tier: str = Field(min_length=1)


class ProgrammeDoc(Entry):
    programme: str = Field(min_length=1, description="The programme's name.")
    description: str = ""
    timezone: str = "Africa/Johannesburg"
    default_class: ClassDoc = Field(description="The class of a customer not yet known.")
    currencies: dict[CurrencyName, CurrencyDoc]
    exclusions: list[ExclusionDoc] = []
    rules: Annotated[list[RuleDoc], Field(min_length=1)]
    agreements: Annotated[list[AgreementDoc], Field(min_length=1)]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("currencies")
    @classmethod
    def _every_currency(cls, value: dict[str, CurrencyDoc]) -> dict[str, CurrencyDoc]:
        missing = {"points", "tier_points"} - set(value)
        if missing:
            raise ValueError(f"missing currency {', '.join(sorted(missing))}")
        return value
