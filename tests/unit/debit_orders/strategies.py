"""Hypothesis strategies read off the layouts: any value each field's picture can hold."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from services.debit_orders.codec import Value
from services.debit_orders.copybook import Field, Layout
from services.debit_orders.doexec import DETAIL, STATUSES
from services.debit_orders.lycred import LycredInstruction

# Any code page 037 character; trailing spaces are padding, so a value never ends in one.
CP037_CHARS = st.characters(codec="cp037")


def cp037_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=CP037_CHARS, max_size=max_size).map(lambda s: s.rstrip(" "))


def field_values(f: Field) -> st.SearchStrategy[Value]:
    """Every value the field can hold (the 88-level values only, where it has them)."""
    if f.values:
        return st.sampled_from(f.values)
    if f.kind == "alnum":
        return cp037_text(f.length)
    if f.is_date:
        return st.none() | st.dates()
    if f.kind == "packed" and f.signed:
        return st.integers(min_value=-(10**f.digits) + 1, max_value=10**f.digits - 1)
    return st.integers(min_value=0, max_value=10**f.digits - 1)


def records(layout: Layout) -> st.SearchStrategy[dict[str, Value]]:
    return st.fixed_dictionaries({f.name: field_values(f) for f in layout.data_fields})


CUSTOMER_NO = st.from_regex(r"\A[0-9A-Z]{1,12}\Z")
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31))


@st.composite
def good_details(draw: st.DrawFn, sequence_no: int = 1) -> dict[str, Value]:
    """A detail the reader accepts: a valid status, a positive amount, an original for RV."""
    values = draw(records(DETAIL))
    status = draw(st.sampled_from(STATUSES))
    reversal = status == "RV"
    values.update({
        "DOD-REC-TYPE": "D",
        "DOD-SEQUENCE-NO": sequence_no,
        "DOD-CUSTOMER-NO": draw(CUSTOMER_NO),
        "DOD-ACTION-DATE": draw(DATES),
        "DOD-AMOUNT": draw(st.integers(min_value=1, max_value=10**13 - 1)),
        "DOD-STATUS": status,
        "DOD-ORIG-SEQUENCE-NO": draw(st.integers(1, 10**9 - 1)) if reversal else 0,
        "DOD-ORIG-RUN-DATE": draw(DATES) if reversal else None,
    })  # fmt: skip
    return values


INSTRUCTIONS = st.builds(
    LycredInstruction,
    customer_no=CUSTOMER_NO,
    account_no=st.integers(min_value=0, max_value=10**13 - 1),
    direction=st.sampled_from(["C", "D"]),
    amount_cents=st.integers(min_value=1, max_value=10**13 - 1),
    currency=st.sampled_from(["ZAR", "USD", "EUR"]),
    reference=cp037_text(20),
    narrative=cp037_text(30),
    value_date=DATES,
)
