import pytest

from services.vendor_matching.engine import MatchingEngine
from services.vendor_matching.evaluation import seed_vendors


@pytest.fixture(scope="session")
def seed_engine() -> MatchingEngine:
    """The engine over the seed vendor master shipped in `data/vendors.csv`."""
    return MatchingEngine.build(seed_vendors())
