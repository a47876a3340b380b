"""What a miner is: its topics and handlers, its own reporting tables, its own consumer group.

A miner keeps its reporting tables in the customer_profile schema (prefixed `report_`).
Replaying its topics into empty tables rebuilds the same tables (`loyalty report rebuild NAME`):
its own consumer group reads them from the beginning and claims each message in the service's
inbox under the miner's namespace (`miner.NAME:TOPIC`), so it never collides with the
service's handlers or another miner, one transaction a batch.

A miner that `rides_lane` (its topics are all topics of the service's lane) is applied by the
lane itself once it has caught up: in the lane's transaction, from the messages the lane has
decoded and claimed already, so a message is read, decoded and claimed once for the service and
its miners (reading them again in groups of their own was half of the service's CPU). It reads
on its own group only while it is `rebuilding` (services.customer_profile.miners.runner).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Column, DateTime, Integer, Table, Text, func, text, true

from services.customer_profile.tables import metadata
from shared.messaging.uow import Subscription

# Months and days of the reports are local to the programme's time zone.
REPORT_TZ = ZoneInfo("Africa/Johannesburg")

# Each miner's generation: a rebuild empties its tables and starts a new consumer group.
generations = Table(
    "report_miners",
    metadata,
    Column("miner", Text, primary_key=True),
    Column("generation", Integer, nullable=False, server_default=text("1")),
    Column("reset_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A lane-riding miner reads on its own group until it has caught up with the lane; a new
    # miner (no row yet) and a rebuilt one start so.
    Column("rebuilding", Boolean, nullable=False, server_default=true()),
)


@dataclass(frozen=True)
class Miner:
    """One miner: the topics it consumes, how it applies a batch, the tables it owns."""

    name: str
    subscriptions: Sequence[Subscription]
    tables: Sequence[Table]
    description: str = ""
    rides_lane: bool = False  # applied by the service's lane once caught up (see above)

    @property
    def topics(self) -> list[str]:
        return [s.topic for s in self.subscriptions]

    @property
    def group(self) -> str:
        """The consumer group's stem; each rebuild consumes under a new generation of it."""
        return f"loyalty.customer_profile.miner.{self.name}"

    @property
    def inbox_prefix(self) -> str:
        return f"miner.{self.name}:"


def local_day(moment: datetime) -> date:
    return moment.astimezone(REPORT_TZ).date()


def month_of(moment: datetime) -> date:
    """The first day of the (local) month of `moment`."""
    return local_day(moment).replace(day=1)
