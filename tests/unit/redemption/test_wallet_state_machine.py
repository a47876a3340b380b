"""The wallet's pure rules, driven by Hypothesis through long stories, against a reference.

The system under test is the wallet as the handlers assemble it from the pure parts
(allocate_fifo, take_back, LotBook, after_debt, Account), with the database reduced to dicts:
stored lots, a journal and the claimed references. The reference model is written apart and
naively, one point at a time. After every step both must agree, and invariants 1-7 of the
wallet hold (journal balanced, per currency and per account; lots cover the balance net of
debt, within bounds; spends never overdraw; a lot expires once; a message acts once).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from services.redemption.decisions import after_debt
from services.redemption.domain import (
    InsufficientPointsError,
    Lot,
    LotBook,
    NegativePolicy,
    allocate_fifo,
    claw_back,
)
from services.redemption.ledger import BREAKAGE, ISSUED, REDEEMED, SHORTFALL, customer_account
from services.redemption.repository import Account, Allocation

CUSTOMER = "C0000000001"
START = date(2026, 11, 20)
POINTS = st.integers(min_value=1, max_value=60)
EXPIRY = st.one_of(st.none(), st.integers(min_value=-2, max_value=40))  # days from today
PICK = st.integers(min_value=0, max_value=10**6)


def fefo_key(expires_at: date | None, lot_id: int) -> tuple[bool, date, int]:
    return (expires_at is None, expires_at or date.max, lot_id)


# --- the system under test: the pure parts, assembled as the handlers do ------------------


@dataclass
class StoredLot:
    initial: int
    remaining: int
    expires_at: date | None
    posting_id: str


@dataclass
class Wallet:
    """The wallet of one account, the database as dicts; each call is one batch."""

    policy: NegativePolicy = "debt"
    currency: str = "points"
    today: date = START
    account: Account = field(default_factory=lambda: Account(0, 0))
    lots: dict[int, StoredLot] = field(default_factory=dict)
    journal: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)
    holds: dict[str, tuple[int, str]] = field(default_factory=dict)  # request -> points, state
    allocations: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    decisions: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    @property
    def owner(self) -> tuple[str, str]:
        return (CUSTOMER, self.currency)

    @property
    def mine(self) -> str:
        return customer_account(CUSTOMER, self.currency)

    def load(self, usable_on: date | None = None) -> LotBook:
        """lock_open_lots: the lots with points left (unexpired ones only, for a spend)."""
        book = LotBook()
        book.track(self.owner)
        for lot_id, lot in sorted(self.lots.items()):
            if lot.remaining > 0 and (
                usable_on is None or lot.expires_at is None or lot.expires_at >= usable_on
            ):
                book.add(self.owner, Lot(lot_id, lot.remaining, lot.expires_at), lot.posting_id)
        return book

    def write(self, book: LotBook) -> None:
        """consume_lots with the book's moves."""
        for lot_id, points in book.drain():
            self.lots[lot_id].remaining -= points

    def claim(self, kind: str, reference: str, entries: list[tuple[str, int]]) -> bool:
        """claim_journal and write_entries: a reference acts once."""
        if (kind, reference) in self.journal:
            return False
        self.journal[kind, reference] = entries
        return True

    # postings (apply_postings)
    def post(self, posting_id: str, points: int, expires_at: date | None,
             reverses: str | None = None) -> None:  # fmt: skip
        if ("posting", posting_id) in self.journal:
            return
        change, shortfall = points, 0
        if points > 0:
            repaid = min(points, max(0, -self.account.balance))
            lot_id = len(self.lots) + 1
            self.lots[lot_id] = StoredLot(points, points - repaid, expires_at, posting_id)
        else:
            book = self.load()
            first = book.by_posting.get(reverses or "")
            clawed = claw_back(book.lots(self.owner), -points, first, self.policy)
            book.take(self.owner, clawed.taken)
            self.write(book)
            change, shortfall = -clawed.charged, clawed.shortfall
        entries = [(self.mine, change), (ISSUED.format(currency=self.currency), -points)]
        if shortfall:
            entries.append((SHORTFALL.format(currency=self.currency), -shortfall))
        assert self.claim("posting", posting_id, entries)
        self.account.balance += change

    # requests (Decider)
    def request(self, action: str, request_id: str, points: int | None) -> tuple[str, int]:
        key = (request_id, action)
        if key in self.decisions:  # the original decision again, no second effect
            return self.decisions[key]
        outcome = getattr(self, f"_{action}")(request_id, points)
        decision = ("approved", outcome) if outcome is not None else ("declined", 0)
        self.decisions[key] = decision
        return decision

    def _spend(self, request_id: str, points: int) -> bool:
        book = self.load(self.today)
        try:
            taken = allocate_fifo(book.lots(self.owner), points, self.today)
        except InsufficientPointsError:
            return False
        book.take(self.owner, taken)
        self.write(book)
        self.allocations[request_id] = taken
        redeemed = REDEEMED.format(currency=self.currency)
        self.claim("redemption", request_id, [(self.mine, -points), (redeemed, points)])
        self.account.balance -= points
        return True

    def _redeem(self, request_id: str, points: int | None) -> int | None:
        assert points is not None
        if points > self.account.spendable or not self._spend(request_id, points):
            return None
        return points

    def _authorize(self, request_id: str, points: int | None) -> int | None:
        assert points is not None
        if points > self.account.spendable or request_id in self.holds:
            return None
        self.holds[request_id] = (points, "open")
        self.account.held += points
        return points

    def _capture(self, request_id: str, points: int | None) -> int | None:
        held, state = self.holds.get(request_id, (0, "none"))
        wanted = held if points is None else points
        if state != "open" or wanted > held or not self._spend(request_id, wanted):
            return None
        self.holds[request_id] = (held, "captured")
        self.account.held -= held
        return wanted

    def _void(self, request_id: str, points: int | None) -> int | None:
        del points
        held, state = self.holds.get(request_id, (0, "none"))
        if state != "open":
            return None
        self.holds[request_id] = (held, "voided")
        self.account.held -= held
        return held

    def _cancel(self, request_id: str, points: int | None) -> int | None:
        del points
        allocations = self.allocations.get(request_id)
        if allocations is None or ("cancel", request_id) in self.journal:
            return None
        found = [Allocation(lot_id, n, self.lots[lot_id].expires_at) for lot_id, n in allocations]
        back = [a for a in found if not a.expired(self.today)]
        lost = sum(a.points for a in found if a.expired(self.today))
        returned = sum(a.points for a in back)
        for a in after_debt(back, max(0, -self.account.balance)):
            self.lots[a.lot_id].remaining += a.points
        entries = [(REDEEMED.format(currency=self.currency), -(returned + lost))]
        if returned:
            entries.append((self.mine, returned))
        if lost:
            entries.append((BREAKAGE.format(currency=self.currency), lost))
        self.claim("cancel", request_id, entries)
        self.account.balance += returned
        return returned

    # the expiry run (expire_lots)
    def expire(self) -> list[int]:
        expired = []
        for lot_id, lot in sorted(self.lots.items()):
            if lot.expires_at is not None and lot.expires_at < self.today and lot.remaining > 0:
                points, lot.remaining = lot.remaining, 0
                breakage = BREAKAGE.format(currency=self.currency)
                assert self.claim("expiry", str(lot_id), [(self.mine, -points), (breakage, points)])
                self.account.balance -= points
                expired.append(lot_id)
        return expired


# --- the reference: one point at a time -----------------------------------------------


@dataclass
class RefLot:
    starting: int
    current: int
    expires_at: date | None
    source: str


@dataclass
class Reference:
    policy: NegativePolicy = "debt"
    today: date = START
    shortfall: int = 0
    balance: int = 0
    held: int = 0
    lots: dict[int, RefLot] = field(default_factory=dict)
    holds: dict[str, int] = field(default_factory=dict)  # open holds only
    spent: dict[str, dict[int, int]] = field(default_factory=dict)  # request -> lot -> points
    cancelled: set[str] = field(default_factory=set)
    swept: set[int] = field(default_factory=set)
    decided: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    postings: set[str] = field(default_factory=set)

    def usable(self, lot: RefLot) -> bool:
        return lot.current > 0 and (lot.expires_at is None or lot.expires_at >= self.today)

    def soonest(self, ids: list[int]) -> int | None:
        candidates = [i for i in ids if self.lots[i].current > 0]
        if not candidates:
            return None
        return min(candidates, key=lambda i: fefo_key(self.lots[i].expires_at, i))

    def credit(self, posting_id: str, points: int, expires_at: date | None) -> None:
        if posting_id in self.postings:
            return
        self.postings.add(posting_id)
        lot = RefLot(points, 0, expires_at, posting_id)
        self.lots[len(self.lots) + 1] = lot
        for _ in range(points):
            if self.balance >= 0:
                lot.current += 1
            self.balance += 1  # a debt (negative balance) is repaid first

    def clawback(self, posting_id: str, points: int, original: str | None) -> None:
        if posting_id in self.postings:
            return
        self.postings.add(posting_id)
        first = [i for i, lot in self.lots.items() if lot.source == original]
        for _ in range(points):
            lot_id = self.soonest(first) or self.soonest(list(self.lots))
            if lot_id is not None:
                self.lots[lot_id].current -= 1
                self.balance -= 1
            elif self.policy == "debt":
                self.balance -= 1  # beyond the lots: a debt
            else:
                self.shortfall += 1  # or a shortfall, recorded

    def request(self, action: str, request_id: str, points: int | None) -> tuple[str, int]:
        key = (request_id, action)
        if key not in self.decided:
            done = getattr(self, action)(request_id, points)
            self.decided[key] = ("approved", done) if done is not None else ("declined", 0)
        return self.decided[key]

    def take(self, request_id: str, points: int) -> bool:
        if sum(lot.current for lot in self.lots.values() if self.usable(lot)) < points:
            return False
        taken: Counter[int] = Counter()
        for _ in range(points):
            lot_id = self.soonest([i for i, lot in self.lots.items() if self.usable(lot)])
            assert lot_id is not None
            self.lots[lot_id].current -= 1
            taken[lot_id] += 1
        self.spent[request_id] = dict(taken)
        self.balance -= points
        return True

    def redeem(self, request_id: str, points: int) -> int | None:
        if points > self.balance - self.held or not self.take(request_id, points):
            return None
        return points

    def authorize(self, request_id: str, points: int) -> int | None:
        if points > self.balance - self.held or any(k[0] == request_id for k in self.decided):
            return None
        self.holds[request_id] = points
        self.held += points
        return points

    def capture(self, request_id: str, points: int | None) -> int | None:
        if request_id not in self.holds:
            return None
        held = self.holds[request_id]
        wanted = held if points is None else points
        if wanted > held or not self.take(request_id, wanted):
            return None
        del self.holds[request_id]
        self.held -= held
        return wanted

    def void(self, request_id: str, points: int | None) -> int | None:
        del points
        if request_id not in self.holds:
            return None
        self.held -= self.holds.pop(request_id)
        return self.decided[request_id, "authorize"][1]

    def cancel(self, request_id: str, points: int | None) -> int | None:
        del points
        if request_id not in self.spent or request_id in self.cancelled:
            return None
        self.cancelled.add(request_id)
        returned = 0
        # soonest-expiring first, so that a debt is repaid from those points first
        for lot_id in sorted(self.spent[request_id],
                             key=lambda i: fefo_key(self.lots[i].expires_at, i)):  # fmt: skip
            lot = self.lots[lot_id]
            if lot.expires_at is not None and lot.expires_at < self.today:
                continue  # to breakage
            for _ in range(self.spent[request_id][lot_id]):
                if self.balance >= 0:
                    lot.current += 1
                self.balance += 1
                returned += 1
        return returned

    def expire(self) -> list[int]:
        due = [
            i
            for i, lot in sorted(self.lots.items())
            if lot.expires_at is not None and lot.expires_at < self.today and lot.current > 0
        ]
        for lot_id in due:
            assert lot_id not in self.swept, "a lot expired twice"
            self.swept.add(lot_id)
            self.balance -= self.lots[lot_id].current
            self.lots[lot_id].current = 0
        return due


# --- the machine ------------------------------------------------------------------------


class WalletMachine(RuleBasedStateMachine):
    """The programme lets a clawback of spent points leave a debt."""

    policy: NegativePolicy = "debt"

    def __init__(self) -> None:
        super().__init__()
        self.wallet = Wallet(policy=self.policy)
        self.ref = Reference(policy=self.policy)
        self.credits: list[str] = []
        self.postings: list[tuple[str, int, date | None, str | None]] = []
        self.requests: list[tuple[str, str, int | None]] = []
        self.serial = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    @initialize(points=POINTS, days=EXPIRY)
    def open_with_a_credit(self, points: int, days: int | None) -> None:
        self.credit(points, days)

    @rule(points=POINTS, days=EXPIRY)
    def credit(self, points: int, days: int | None) -> None:
        expires = None if days is None else self.wallet.today + timedelta(days=days)
        posting_id = self.next_id("earn:")
        self.credits.append(posting_id)
        self.postings.append((posting_id, points, expires, None))
        self.wallet.post(posting_id, points, expires)
        self.ref.credit(posting_id, points, expires)

    @rule(points=st.integers(min_value=1, max_value=90), pick=st.none() | PICK)
    def clawback(self, points: int, pick: int | None) -> None:
        original = (
            None if pick is None or not self.credits else self.credits[pick % len(self.credits)]
        )
        posting_id = self.next_id("reversal:")
        self.postings.append((posting_id, -points, None, original))
        self.wallet.post(posting_id, -points, None, original)
        self.ref.clawback(posting_id, points, original)

    def ask(self, action: str, request_id: str, points: int | None) -> tuple[str, int]:
        spendable = self.wallet.account.spendable
        got = self.wallet.request(action, request_id, points)
        assert got == self.ref.request(action, request_id, points), (action, request_id)
        self.requests.append((action, request_id, points))
        if got[0] == "approved" and action in {"redeem", "authorize"}:
            assert self.wallet.account.spendable >= 0  # invariant 5
        if got[0] == "approved" and action == "capture":
            assert self.wallet.account.spendable >= spendable  # it frees the rest of the hold
        return got

    @rule(points=st.integers(min_value=1, max_value=90))
    def redeem(self, points: int) -> None:
        self.ask("redeem", self.next_id("R"), points)

    @rule(points=st.integers(min_value=1, max_value=90))
    def authorize(self, points: int) -> None:
        self.ask("authorize", self.next_id("H"), points)

    def hold_ids(self) -> list[str]:
        return [r for a, r, _ in self.requests if a == "authorize"]

    @precondition(lambda self: any(a == "authorize" for a, _, _ in self.requests))
    @rule(pick=PICK, fewer=st.integers(min_value=0, max_value=30) | st.none())
    def capture(self, pick: int, fewer: int | None) -> None:
        holds = self.hold_ids()
        request_id = holds[pick % len(holds)]
        held = self.wallet.holds[request_id][0] if request_id in self.wallet.holds else 1
        points = None if fewer is None else max(1, held - fewer)
        self.ask("capture", request_id, points)

    @precondition(lambda self: any(a == "authorize" for a, _, _ in self.requests))
    @rule(pick=PICK)
    def void(self, pick: int) -> None:
        holds = self.hold_ids()
        self.ask("void", holds[pick % len(holds)], None)

    @precondition(lambda self: any(a in {"redeem", "capture"} for a, _, _ in self.requests))
    @rule(pick=PICK)
    def cancel(self, pick: int) -> None:
        spends = [r for a, r, _ in self.requests if a in {"redeem", "capture"}]
        self.ask("cancel", spends[pick % len(spends)], None)

    @rule(days=st.integers(min_value=1, max_value=20))
    def time_passes(self, days: int) -> None:
        self.wallet.today += timedelta(days=days)
        self.ref.today = self.wallet.today

    @rule()
    def expire(self) -> None:
        assert self.wallet.expire() == self.ref.expire()
        assert self.wallet.expire() == []  # a second run finds nothing

    @precondition(lambda self: bool(self.requests))
    @rule(pick=PICK)
    def a_request_again(self, pick: int) -> None:
        action, request_id, points = self.requests[pick % len(self.requests)]
        before = self.snapshot()
        first = self.wallet.decisions[request_id, action]
        assert self.wallet.request(action, request_id, points) == first
        assert self.snapshot() == before  # invariant 7: no second effect

    @rule(pick=PICK)
    def a_posting_again(self, pick: int) -> None:
        posting_id, points, expires, reverses = self.postings[pick % len(self.postings)]
        before = self.snapshot()
        self.wallet.post(posting_id, points, expires, reverses)
        assert self.snapshot() == before  # invariant 7

    def snapshot(self) -> tuple[object, ...]:
        w = self.wallet
        return (w.account.balance, w.account.held, len(w.journal),
                {i: lot.remaining for i, lot in w.lots.items()})  # fmt: skip

    # --- agreement with the reference, and the invariants ------------------------------

    @invariant()
    def agrees_with_the_reference(self) -> None:
        w, ref = self.wallet, self.ref
        assert (w.account.balance, w.account.held) == (ref.balance, ref.held)
        assert {i: lot.remaining for i, lot in w.lots.items()} == {
            i: lot.current for i, lot in ref.lots.items()
        }
        assert {r for r, (_, state) in w.holds.items() if state == "open"} == set(ref.holds)

    @invariant()
    def the_journal_balances(self) -> None:
        per_account: Counter[str] = Counter()
        for entries in self.wallet.journal.values():
            assert sum(amount for _, amount in entries) == 0  # 1: each transaction
            for account, amount in entries:
                per_account[account] += amount
        assert sum(per_account.values()) == 0  # 2: all accounts of the currency together
        assert per_account[self.wallet.mine] == self.wallet.account.balance  # 3

    @invariant()
    def lots_cover_the_balance_net_of_debt(self) -> None:
        lots = self.wallet.lots.values()
        assert all(0 <= lot.remaining <= lot.initial for lot in lots)  # 4
        assert sum(lot.remaining for lot in lots) == max(self.wallet.account.balance, 0)

    @invariant()
    def a_shortfall_is_never_silent(self) -> None:
        shortfall = SHORTFALL.format(currency=self.wallet.currency)
        journalled = sum(
            amount
            for entries in self.wallet.journal.values()
            for account, amount in entries
            if account == shortfall
        )
        assert -journalled == self.ref.shortfall
        if self.policy == "cap":
            assert self.wallet.account.balance >= 0  # never a debt

    @invariant()
    def holds_are_what_is_held(self) -> None:
        w = self.wallet
        assert w.account.held == sum(p for p, state in w.holds.values() if state == "open")

    @invariant()
    def each_lot_expires_once(self) -> None:
        expiries = [ref for kind, ref in self.wallet.journal if kind == "expiry"]  # 6
        assert len(expiries) == len(set(expiries))
        for ref in expiries:
            assert self.wallet.lots[int(ref)].remaining == 0  # and never filled again


class CappedWalletMachine(WalletMachine):
    """The programme caps a clawback at what the lots hold and records the shortfall."""

    policy: NegativePolicy = "cap"


FAST = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
WalletMachine.TestCase.settings = FAST
CappedWalletMachine.TestCase.settings = FAST
test_a_wallet_with_debts_agrees_with_its_reference = WalletMachine.TestCase
test_a_capped_wallet_agrees_with_its_reference = CappedWalletMachine.TestCase
