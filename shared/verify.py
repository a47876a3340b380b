"""The cross-service invariants of `loyalty verify`, as pure functions over rows.

Each check takes the rows it needs and returns the violations it finds, so that every one can
be shown to fail in a unit test; `shared.verify_cli` reads the rows (one consistent snapshot of
every schema, the dead-letter topics) and prints the report. A check that compares two services
is only meaningful once the messages between them have arrived: verify a drained platform.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

OUTBOX_MAX_AGE_S = 5.0
CUSTOMER_ACCOUNT = "customer:{customer_no}:{currency}"  # as the wallet names its accounts


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class AccrualPosting:
    """An earning, reversal or adjustment accrual recorded (and published once)."""

    posting_id: str
    customer_no: str
    currency: str
    points: int
    reverses: str | None = None


@dataclass(frozen=True, slots=True)
class JournalTxn:
    """A wallet journal transaction with its entries summed."""

    txn_id: int
    kind: str  # posting | redemption
    reference: str  # posting id | redemption id
    customer_no: str
    currency: str
    total: int  # all its entries: zero when balanced
    customer_amount: int  # its entries on the customer's own account
    entries: int
    shortfall: int = 0  # its entries on the shortfall account (a capped clawback), negative


@dataclass(frozen=True, slots=True)
class WalletAccount:
    customer_no: str
    currency: str
    balance: int
    held: int


@dataclass(frozen=True, slots=True)
class LotRow:
    lot_id: int
    customer_no: str
    currency: str
    posting_id: str
    initial: int
    remaining: int
    allocated: int  # points redemptions that stand took from it
    cancelled: int = 0  # points cancelled redemptions had taken from it (some came back)


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    redemption_id: int
    customer_no: str
    action: str
    outcome: str
    points: int
    allocated: int
    returned: int | None = None  # when cancelled: the points that went back to lots


@dataclass(frozen=True, slots=True)
class ViewBalance:
    """customer_profile's last known balance of a customer."""

    customer_no: str
    currency: str
    balance: int
    held: int


@dataclass(frozen=True, slots=True)
class OutboxState:
    schema: str
    unsent: int
    oldest_unsent_s: float | None


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    topic: str
    partition: int
    offset: int
    source_topic: str | None
    source_partition: str | None
    source_offset: str | None
    service: str | None
    reason: str | None


@dataclass(frozen=True)
class Snapshot:
    accrual: Sequence[AccrualPosting] = ()
    journal: Sequence[JournalTxn] = ()
    account_entries: Mapping[str, int] = field(default_factory=dict)  # account -> sum
    accounts: Sequence[WalletAccount] = ()
    lots: Sequence[LotRow] = ()
    redemptions: Sequence[RedemptionRow] = ()
    open_holds: Mapping[tuple[str, str], int] = field(default_factory=dict)  # customer, currency
    view_balances: Sequence[ViewBalance] = ()
    outboxes: Sequence[OutboxState] = ()
    dead_letters: Sequence[DeadLetterRow] = ()


def account_name(customer_no: str, currency: str) -> str:
    return CUSTOMER_ACCOUNT.format(customer_no=customer_no, currency=currency)


def check_postings_once(
    accrual: Sequence[AccrualPosting], journal: Sequence[JournalTxn]
) -> list[Violation]:
    """Every accrual posting is in the wallet exactly once, as posted; nothing else is."""
    out: list[Violation] = []
    in_wallet: dict[str, list[JournalTxn]] = defaultdict(list)
    for txn in journal:
        if txn.kind == "posting":
            in_wallet[txn.reference].append(txn)
    posted = {p.posting_id for p in accrual}
    for p in accrual:
        found = in_wallet.get(p.posting_id, [])
        subject = f"posting {p.posting_id}"
        if not found:
            out.append(Violation("posting_in_wallet", subject, "accrual posted it; not in wallet"))
            continue
        if len(found) > 1:
            ids = ", ".join(str(t.txn_id) for t in found)
            out.append(Violation("posting_in_wallet", subject, f"applied {len(found)}x ({ids})"))
        txn = found[0]
        # Under the cap policy, what the lots no longer had went to the shortfall account.
        if (txn.customer_no, txn.currency, txn.customer_amount + txn.shortfall) != (
            p.customer_no,
            p.currency,
            p.points,
        ):
            out.append(
                Violation(
                    "posting_in_wallet",
                    subject,
                    f"accrual {p.customer_no}/{p.currency} {p.points:+d}, wallet "
                    f"{txn.customer_no}/{txn.currency} {txn.customer_amount:+d}",
                )
            )
    out.extend(
        Violation("posting_in_wallet", f"posting {reference}", "in the wallet, not in accrual")
        for reference in sorted(set(in_wallet) - posted)
    )
    return out


def check_journal_balanced(journal: Sequence[JournalTxn]) -> list[Violation]:
    """Double entry: every journal transaction has entries and they sum to zero."""
    return [
        Violation(
            "journal_balanced",
            f"journal txn {t.txn_id} ({t.kind} {t.reference})",
            f"{t.entries} entries summing to {t.total:+d}",
        )
        for t in journal
        if t.total != 0 or t.entries < 2
    ]


def check_balances(
    accounts: Sequence[WalletAccount],
    account_entries: Mapping[str, int],
    open_holds: Mapping[tuple[str, str], int],
) -> list[Violation]:
    """A balance is a cache of the journal; what is held is the sum of the open holds."""
    out: list[Violation] = []
    names = set()
    for a in accounts:
        name = account_name(a.customer_no, a.currency)
        names.add(name)
        journal = account_entries.get(name, 0)
        if a.balance != journal:
            out.append(
                Violation("balance_is_journal", f"account {name}",
                          f"balance {a.balance}, its journal entries sum to {journal}")
            )  # fmt: skip
        holds = open_holds.get((a.customer_no, a.currency), 0)
        if a.held != holds:
            out.append(
                Violation("held_is_open_holds", f"account {name}",
                          f"held {a.held}, open holds sum to {holds}")
            )  # fmt: skip
    out.extend(
        Violation("balance_is_journal", f"account {name}", f"entries sum to {total}, no account")
        for name, total in sorted(account_entries.items())
        if name.startswith("customer:") and name not in names and total != 0
    )
    accounts_held = {(a.customer_no, a.currency) for a in accounts}
    out.extend(
        Violation("held_is_open_holds", f"account {account_name(*key)}",
                  f"open holds of {points}, no account")
        for key, points in sorted(open_holds.items())
        if key not in accounts_held and points
    )  # fmt: skip
    return out


def check_lots(
    lots: Sequence[LotRow], accrual: Sequence[AccrualPosting], journal: Sequence[JournalTxn]
) -> list[Violation]:
    """Lots: within bounds, one per credit, and a reversal empties its original lot first."""
    out: list[Violation] = []
    credited = {t.reference: t for t in journal if t.kind == "posting" and t.customer_amount > 0}
    by_posting = {lot.posting_id: lot for lot in lots}
    for lot in lots:
        subject = f"lot {lot.lot_id} ({lot.posting_id})"
        if not 0 <= lot.remaining <= lot.initial:
            out.append(
                Violation("lots", subject, f"remaining {lot.remaining} of initial {lot.initial}")
            )
        if lot.allocated > lot.initial - lot.remaining:
            out.append(
                Violation("lots", subject, f"allocated {lot.allocated} > consumed "
                          f"{lot.initial - lot.remaining}")
            )  # fmt: skip
        credit = credited.get(lot.posting_id)
        if credit is None or credit.customer_amount != lot.initial:
            found = "no credit" if credit is None else f"a credit of {credit.customer_amount}"
            out.append(Violation("lots", subject, f"initial {lot.initial}, journal has {found}"))
    out.extend(
        Violation("lots", f"posting {ref}", f"credit of {t.customer_amount} without a lot")
        for ref, t in sorted(credited.items())
        if ref not in by_posting
    )
    reversed_by: Counter[str] = Counter()
    for p in accrual:
        if p.reverses is not None and p.points < 0:
            reversed_by[p.reverses] += -p.points
    for original, points in sorted(reversed_by.items()):
        source = by_posting.get(original)
        # Taken first from the original lot: either it gave the whole reversal, or all it had.
        # (Points a cancel returned to the lot later are not the reversal's business.)
        if source is not None and source.remaining > 0 and not source.cancelled:
            taken = source.initial - source.remaining - source.allocated
            if taken < points:
                out.append(
                    Violation("reversal_from_original_lot", f"lot {source.lot_id} ({original})",
                              f"{points} points reversed, the lot gave {taken} and still has "
                              f"{source.remaining}")
                )  # fmt: skip
    return out


def check_debts(accounts: Sequence[WalletAccount], lots: Sequence[LotRow]) -> list[Violation]:
    """The lots hold exactly the balance; a negative balance is a debt, and then lots are empty.

    The programme's policy: a clawback of points already spent leaves a visible debt (balance
    below zero, lots empty) that later credits repay first; never a silent cap.
    """
    remaining: Counter[tuple[str, str]] = Counter()
    for lot in lots:
        remaining[(lot.customer_no, lot.currency)] += lot.remaining
    out: list[Violation] = []
    for a in accounts:
        key = (a.customer_no, a.currency)
        if remaining[key] != max(a.balance, 0):
            out.append(
                Violation("lots_cover_balance", f"account {account_name(*key)}",
                          f"lots hold {remaining[key]}, balance {a.balance}")
            )  # fmt: skip
    return out


SPENDING = frozenset({"redeem", "capture"})  # the actions that take points from lots


def check_redemptions(
    redemptions: Sequence[RedemptionRow], journal: Sequence[JournalTxn]
) -> list[Violation]:
    """An approved redeem or capture took its points from lots and the journal, once; any
    other decision took nothing; a cancel gave back at most what was taken, once."""
    by_kind: dict[tuple[str, str], list[JournalTxn]] = defaultdict(list)
    for t in journal:
        if t.kind in {"redemption", "cancel"}:
            by_kind[(t.kind, t.reference)].append(t)
    out: list[Violation] = []

    def flag(subject: str, detail: str) -> None:
        out.append(Violation("redemption_allocations", subject, detail))

    for r in redemptions:
        subject = f"redemption {r.redemption_id} ({r.customer_no} {r.action} {r.outcome})"
        debits = by_kind.pop(("redemption", str(r.redemption_id)), [])
        given_back = by_kind.pop(("cancel", str(r.redemption_id)), [])
        spent = r.points if r.outcome == "approved" and r.action in SPENDING else 0
        if r.allocated != spent:
            flag(subject, f"points {r.points}, allocations sum to {r.allocated}")
        debited = -sum(t.customer_amount for t in debits)
        if debited != spent or len(debits) > int(spent > 0):
            flag(subject, f"points {r.points}, debited {debited} in {len(debits)} transaction(s)")
        credited = sum(t.customer_amount for t in given_back)
        if r.returned is None and given_back:
            flag(subject, f"credited back {credited} without a cancellation")
        if r.returned is not None and (
            not spent or len(given_back) != 1 or credited != r.returned or r.returned > spent
        ):
            flag(subject, f"cancelled: returned {r.returned} of {spent}, credited {credited} "
                          f"in {len(given_back)} transaction(s)")  # fmt: skip
    out.extend(
        Violation("redemption_allocations", f"journal txn {t.txn_id}",
                  f"a {kind} of redemption {reference}, which does not exist")
        for (kind, reference), txns in sorted(by_kind.items())
        for t in txns
    )  # fmt: skip
    return out


def check_earnings_totals(
    accrual: Sequence[AccrualPosting], journal: Sequence[JournalTxn]
) -> list[Violation]:
    """Accrual's net earnings per customer and currency = the wallet's credits less reversals."""
    earned: Counter[tuple[str, str]] = Counter()
    for p in accrual:
        earned[(p.customer_no, p.currency)] += p.points
    credited: Counter[tuple[str, str]] = Counter()
    for t in journal:
        if t.kind == "posting":
            credited[(t.customer_no, t.currency)] += t.customer_amount
    return [
        Violation("earnings_equal_credits", f"customer {key[0]} {key[1]}",
                  f"accrual net {earned[key]}, wallet postings net {credited[key]}")
        for key in sorted(set(earned) | set(credited))
        if earned[key] != credited[key]
    ]  # fmt: skip


def check_customer_view(
    view: Sequence[ViewBalance], accounts: Sequence[WalletAccount]
) -> list[Violation]:
    """The single customer view shows the wallet's balance for every customer it has seen."""
    wallet = {(a.customer_no, a.currency): a for a in accounts}
    out: list[Violation] = []
    for v in view:
        a = wallet.get((v.customer_no, v.currency))
        if a is None or (a.balance, a.held) != (v.balance, v.held):
            found = "no account" if a is None else f"{a.balance} (held {a.held})"
            out.append(
                Violation("customer_view", f"customer {v.customer_no} {v.currency}",
                          f"view shows {v.balance} (held {v.held}), wallet {found}")
            )  # fmt: skip
    return out


def check_outboxes(
    outboxes: Sequence[OutboxState], max_age_s: float = OUTBOX_MAX_AGE_S
) -> list[Violation]:
    return [
        Violation("outbox_drained", f"outbox {o.schema}",
                  f"{o.unsent} unsent, the oldest {o.oldest_unsent_s:.1f}s old")
        for o in outboxes
        if o.unsent and (o.oldest_unsent_s or 0.0) > max_age_s
    ]  # fmt: skip


def check_dead_letters(letters: Sequence[DeadLetterRow]) -> list[Violation]:
    """Dead letters are allowed when each says why and where it came from."""
    return [
        Violation("dead_letters_explained", f"{d.topic}[{d.partition}]@{d.offset}",
                  "no dlq.reason or source header")
        for d in letters
        if not d.reason or not d.source_topic
    ]  # fmt: skip


def check(snapshot: Snapshot, *, outbox_max_age_s: float = OUTBOX_MAX_AGE_S) -> list[Violation]:
    """Every invariant over one snapshot."""
    s = snapshot
    return [
        *check_postings_once(s.accrual, s.journal),
        *check_journal_balanced(s.journal),
        *check_balances(s.accounts, s.account_entries, s.open_holds),
        *check_lots(s.lots, s.accrual, s.journal),
        *check_debts(s.accounts, s.lots),
        *check_redemptions(s.redemptions, s.journal),
        *check_earnings_totals(s.accrual, s.journal),
        *check_customer_view(s.view_balances, s.accounts),
        *check_outboxes(s.outboxes, outbox_max_age_s),
        *check_dead_letters(s.dead_letters),
    ]


@dataclass
class Report:
    violations: list[Violation]
    counts: dict[str, int]
    outboxes: list[OutboxState]
    dead_letters: list[DeadLetterRow]
    consumer_lag: dict[str, int | None]

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self, limit: int = 1000) -> dict[str, Any]:
        by_check = Counter(v.check for v in self.violations)
        return {
            "ok": self.ok,
            "violation_count": len(self.violations),
            "violations_by_check": dict(by_check),
            "violations": [asdict(v) for v in self.violations[:limit]],
            "counts": self.counts,
            "outboxes": [asdict(o) for o in self.outboxes],
            "consumer_lag": self.consumer_lag,
            "dead_letters": len(self.dead_letters),
            "dead_letter_reasons": dict(_reason_counts(self.dead_letters)),
            "dead_letter_list": [asdict(d) for d in self.dead_letters[:limit]],
        }

    def lines(self, limit: int = 50) -> list[str]:
        verdict = "hold" if self.ok else "VIOLATED"
        out = [f"invariants {verdict}: {len(self.violations)} violation(s)"]
        out += [f"  [{v.check}] {v.subject}: {v.detail}" for v in self.violations[:limit]]
        if len(self.violations) > limit:
            out.append(f"  ... and {len(self.violations) - limit} more (--json lists them)")
        out.append("checked: " + ", ".join(f"{n:,} {k}" for k, n in self.counts.items()))
        out.append("outboxes: " + ", ".join(f"{o.schema} {o.unsent} unsent" for o in self.outboxes))
        out.append("consumer lag: " + ", ".join(
            f"{k} {'?' if v is None else v}" for k, v in self.consumer_lag.items()))  # fmt: skip
        out.append(f"dead letters: {len(self.dead_letters)}")
        out += [f"  {n:>6} {reason}" for reason, n in _reason_counts(self.dead_letters)]
        return out


def _reason_counts(letters: Iterable[DeadLetterRow]) -> list[tuple[str, int]]:
    """Counts by source topic and the reason's category (the text before the first colon)."""
    counts = Counter(
        f"{d.source_topic or d.topic} {(d.reason or 'no reason').split(':', 1)[0]}" for d in letters
    )
    return sorted(counts.items())
