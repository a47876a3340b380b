"""A seeded simulation of the bank's systems and of vendor gateways, for `loyalty up`."""

from shared.simulator.events import next_event
from shared.simulator.people import Customer, generate_customers
from shared.simulator.publisher import Simulator
from shared.simulator.state import SimConfig, SimEvent, SimState
from shared.simulator.vendors import VENDORS, vendor_rows, write_vendor_csv

__all__ = [
    "VENDORS",
    "Customer",
    "SimConfig",
    "SimEvent",
    "SimState",
    "Simulator",
    "generate_customers",
    "next_event",
    "vendor_rows",
    "write_vendor_csv",
]
