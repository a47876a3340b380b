"""Statement lines of cheque and savings accounts: debit orders, EFTs, fees, transfers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final, Literal, NamedTuple

from contracts.esb import AccountTransaction
from shared.simulator.people import Customer, lognormal_cents
from shared.simulator.state import ACCOUNT_TOPIC, CURRENCY, SimEvent, SimState, weighted
from shared.simulator.vendors import MALLS, eft_vendors

Channel = Literal["eft", "debit_order", "transfer", "fee", "atm", "other"]
FEES: Final = (
    ("MONTHLY ACCOUNT FEE", 6_500),
    ("CASH WITHDRAWAL FEE", 1_050),
    ("NOTIFIC FEE SMS", 150),
    ("INTERNATIONAL TXN FEE", 2_400),
    ("ADMIN FEE DEBIT ORDER", 450),
)
EMPLOYERS: Final = ("ACME PTY LTD", "SASOL LTD", "CITY OF TSHWANE", "DEPT OF EDUCATION",
                    "SHOPRITE HLDGS", "MEDICLINIC", "ANGLO AMERICAN")  # fmt: skip
PAYEES: Final = ("NKOSI", "BOTHA", "NAIDOO", "SMIT", "DLAMINI", "VAN WYK")
STATEMENT_MIX: Final[tuple[tuple[str, float], ...]] = (
    ("debit_order", 0.37),
    ("eft", 0.27),
    ("fee", 0.12),
    ("transfer", 0.12),
    ("atm", 0.08),
    ("other", 0.04),
)


class _Line(NamedTuple):
    channel: Channel
    direction: Literal["debit", "credit"]
    descriptor: str
    amount_cents: int


def account_event(rng: random.Random, state: SimState, customer: Customer) -> SimEvent:
    """A statement line; now and then the reversal of an earlier debit order."""
    now = state.clock()
    account = customer.bank_accounts[0]
    transacted = now - timedelta(seconds=rng.randint(0, 3_600))
    if rng.random() < 0.05 and state.debit_orders:
        message = _reversal(state, state.debit_orders.popleft(), transacted)
    else:
        line = _statement_line(rng, customer)
        message = AccountTransaction(
            message_id=state.next_id("ACC"),
            sent_at=now,
            transaction_id=state.next_id("AT"),
            customer_no=customer.customer_no,
            account_no=account.account_no,
            channel=line.channel,
            direction=line.direction,
            kind="payment",
            original_transaction_id=None,
            descriptor=line.descriptor[:40],
            amount_cents=line.amount_cents,
            currency=CURRENCY,
            transaction_at=transacted,
        )
        if message.channel == "debit_order":
            state.debit_orders.append(message)
    state.stats[f"account.{message.channel}.{message.kind}"] += 1
    return SimEvent(ACCOUNT_TOPIC, message.customer_no, message)


def _reversal(state: SimState, original: AccountTransaction, at: datetime) -> AccountTransaction:
    """A disputed debit order: the money comes back, referring to the original line."""
    return AccountTransaction.model_validate(
        original.model_dump()
        | {
            "message_id": state.next_id("ACC"),
            "sent_at": state.clock(),
            "transaction_id": state.next_id("AT"),
            "direction": "credit",
            "kind": "reversal",
            "original_transaction_id": original.transaction_id,
            "descriptor": f"RV {original.descriptor}"[:40],
            "transaction_at": at,
        }
    )


def _statement_line(rng: random.Random, customer: Customer) -> _Line:
    accounts = customer.bank_accounts
    kind = weighted(rng, STATEMENT_MIX)
    if kind == "debit_order" and customer.mandates:
        mandate = rng.choice(customer.mandates)
        return _Line("debit_order", "debit", mandate.descriptor, mandate.amount_cents)
    if kind == "fee":
        descriptor, cents = rng.choice(FEES)
        return _Line("fee", "debit", descriptor, cents)
    if kind == "transfer" and len(accounts) > 1:
        to = accounts[1]
        cents = rng.choice((50_000, 100_000, 150_000, 200_000)) + rng.randrange(5) * 10_000
        return _Line("transfer", "debit", f"TRANSFER TO {to.type.upper()} {to.account_no[-4:]}",
                     cents)  # fmt: skip
    if kind == "atm":
        branch, _city = rng.choice(MALLS)
        return _Line("atm", "debit", f"ATM CASH {branch}", rng.randint(2, 30) * 10_000)
    if kind == "other":
        return _Line("other", "credit", "CREDIT INTEREST", rng.randint(50, 9_000))
    return _eft(rng)


def _eft(rng: random.Random) -> _Line:
    roll = rng.random()
    if roll < 0.65:
        vendor = rng.choice(eft_vendors())
        template = rng.choice(vendor.eft_descriptors)
        descriptor = template.format(ref8=f"{rng.randrange(10**7, 10**8)}")
        return _Line("eft", "debit", descriptor, lognormal_cents(rng, vendor.median_cents, 0.8))
    if roll < 0.85:
        payee = f"{rng.choice('ABCDEGJKLMNPST')} {rng.choice(PAYEES)}"
        return _Line("eft", "debit", f"IB PAYMENT TO {payee}", lognormal_cents(rng, 50_000, 1.0))
    salary = lognormal_cents(rng, 2_500_000, 0.5)
    return _Line("eft", "credit", f"SALARY {rng.choice(EMPLOYERS)}", salary)
