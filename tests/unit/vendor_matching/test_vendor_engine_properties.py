"""Properties of matching that hold for any vendor master and any descriptor."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.vendor_matching.domain import MATCHED_METHODS, MatchQuery
from services.vendor_matching.engine import MatchingEngine
from tests.unit.vendor_matching.factories import vendor

_WORDS = [
    "WOOLWORTHS",
    "SPAR",
    "SPUR",
    "VIRGIN",
    "ACTIVE",
    "PICK",
    "N",
    "PAY",
    "KING",
    "PRICE",
    "CAPE",
    "UNION",
    "MART",
    "FOOD",
    "LOVERS",
    "MARKET",
    "SHELL",
    "ZA",
    "JHB",
    "DEBIT",
    "ORDER",
    "123456",
    "#12",
    "PNP",
    "DISCOVERY",
    "HEALTH",
    "INSURE",
]
words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
descriptors = st.one_of(words, st.text(max_size=40))


@st.composite
def vendor_masters(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    names = draw(st.lists(words, min_size=count, max_size=count))
    return [
        vendor(
            f"v{number:02d}",
            name,
            mids=[f"M{number}"],
            codes=[f"{number:04d}"],
            aliases=draw(st.lists(words, max_size=2)),
        )
        for number, name in enumerate(names)
    ]


@settings(max_examples=200, deadline=None)
@given(vendor_masters(), descriptors, st.randoms(use_true_random=False))
def test_the_same_question_gets_the_same_answer_whatever_the_order_of_the_master(
    master, descriptor, random
):
    shuffled = list(master)
    random.shuffle(shuffled)
    query = MatchQuery(descriptor=descriptor)
    first = MatchingEngine.build(master)
    assert first.match(query) == MatchingEngine.build(shuffled).match(query)
    assert first.match(query) == first.match(query)


@settings(max_examples=200, deadline=None)
@given(vendor_masters(), descriptors, words)
def test_an_unrelated_vendor_never_changes_an_exact_merchant_id_match(master, descriptor, name):
    query = MatchQuery(merchant_id="M0", descriptor=descriptor, channel="card")
    before = MatchingEngine.build(master).match(query)
    newcomer = vendor("zz_new", name, mids=["NEW1"], aliases=[descriptor] if descriptor else [])
    after = MatchingEngine.build([*master, newcomer]).match(query)
    assert before == after
    assert (after.vendor_id, after.method, after.confidence) == ("v00", "merchant_id", 100)


@settings(max_examples=300, deadline=None)
@given(vendor_masters(), descriptors, st.sampled_from([None, "5411", "5812", "9999"]))
def test_every_result_is_a_consistent_integer_verdict(master, descriptor, mcc):
    result = MatchingEngine.build(master).match(MatchQuery(descriptor=descriptor, mcc=mcc))
    assert isinstance(result.confidence, int)
    assert 0 <= result.confidence <= 100
    assert (result.vendor_id is not None) == (result.method in MATCHED_METHODS)
    assert all(
        isinstance(c.confidence, int) and 0 <= c.confidence <= 100 for c in result.candidates
    )
    if result.method == "review":
        assert result.candidates
    if result.vendor_id is not None:
        assert result.candidates[0].vendor_id == result.vendor_id


@settings(max_examples=100, deadline=None)
@given(vendor_masters(), st.lists(descriptors, max_size=10))
def test_batches_and_caches_do_not_change_answers(master, batch):
    engine = MatchingEngine.build(master)
    queries = [MatchQuery(descriptor=descriptor) for descriptor in batch * 2]
    answers = engine.match_many(queries)
    fresh = MatchingEngine.build(master)
    assert answers == [fresh.match(query) for query in queries]
