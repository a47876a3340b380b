"""What reviewers decide changes the next answer for the same descriptor, and only for it."""

from services.vendor_matching.domain import Candidate, Learned, MatchQuery, MatchResult
from services.vendor_matching.engine import MatchingEngine, learning_key
from services.vendor_matching.learning import (
    ClosedReview,
    Lesson,
    ReviewDecision,
    first_decision_per_review,
    lessons,
)
from tests.unit.vendor_matching.factories import vendor

DISCOVERY_HEALTH = vendor("discovery_health", "Discovery Health", category="medical_aid")
DISCOVERY_INSURE = vendor("discovery_insure", "Discovery Insure", category="insurance")
GAME = vendor("game", "Game", aliases=["GAME STORES"])
MASTER = [DISCOVERY_HEALTH, DISCOVERY_INSURE, GAME]


def card(descriptor: str) -> MatchQuery:
    return MatchQuery(descriptor=descriptor, channel="card")


def test_the_key_is_the_descriptor_as_the_matcher_reads_it():
    assert learning_key(card("POS PURCHASE GAME RANGERS ASSOC 15/01")) == "GAME RANGERS ASSOC"
    # The acquirer's city field is not part of the name; nor is it for the key.
    assert learning_key(card("GAME RANGERS ASSOC        DURBAN       ZA")) == "GAME RANGERS ASSOC"


def test_a_confirmed_descriptor_is_matched_exactly_next_time_whatever_its_noise():
    before = MatchingEngine.build(MASTER)
    assert before.match(card("DISCOVERY 1234")).method == "review"
    learned = Learned(confirmed={learning_key(card("DISCOVERY 1234")): "discovery_health"})
    after = before.with_learned(learned)
    for descriptor in ("DISCOVERY 1234", "POS PURCHASE DISCOVERY 98765 15 JAN", "discovery"):
        assert after.match(card(descriptor)) == MatchResult(
            "discovery_health", "alias", 100, (Candidate("discovery_health", 100),)
        )


def test_a_confirmation_teaches_nothing_about_other_descriptors():
    learned = Learned(confirmed={"DISCOVERY": "discovery_health"})
    engine = MatchingEngine.build(MASTER, learned=learned)
    assert engine.match(card("DISCOVERY LIFE")).vendor_id is None


def test_a_rejected_candidate_is_not_proposed_again_for_that_descriptor():
    engine = MatchingEngine.build(MASTER)
    first = engine.match(card("DISCOVERY"))
    assert {c.vendor_id for c in first.candidates} == {"discovery_health", "discovery_insure"}
    learned = Learned(rejected={"DISCOVERY": frozenset({"discovery_insure"})})
    second = engine.with_learned(learned).match(card("DISCOVERY"))
    assert [c.vendor_id for c in second.candidates] == ["discovery_health"]
    # Other descriptors still see both vendors.
    other = engine.with_learned(learned).match(card("DISCOVERY 1 INSURE"))
    assert other.vendor_id == "discovery_insure"


def test_rejecting_every_candidate_leaves_the_descriptor_unmatched():
    both = frozenset({"discovery_health", "discovery_insure"})
    engine = MatchingEngine.build(MASTER, learned=Learned(rejected={"DISCOVERY": both}))
    assert engine.match(card("DISCOVERY")) == MatchResult(None, "none", 0)


def test_a_rejection_also_stops_an_exact_name_match():
    engine = MatchingEngine.build(MASTER, learned=Learned(rejected={"GAME": frozenset({"game"})}))
    assert engine.match(card("GAME")).vendor_id is None
    assert engine.match(card("GAME STORES")).vendor_id == "game"


def test_a_lesson_about_a_vendor_no_longer_in_the_master_is_ignored():
    engine = MatchingEngine.build(MASTER, learned=Learned(confirmed={"DISCOVERY": "gone"}))
    assert engine.match(card("DISCOVERY")).method == "review"


def test_a_rejection_of_the_confirmed_vendor_wins():
    learned = Learned(
        confirmed={"DISCOVERY": "discovery_health"},
        rejected={"DISCOVERY": frozenset({"discovery_health"})},
    )
    result = MatchingEngine.build(MASTER, learned=learned).match(card("DISCOVERY"))
    assert "discovery_health" not in {c.vendor_id for c in result.candidates}


def closed(review_id, decision, vendor_id, key="DISCOVERY", candidates=("a", "b")):
    return ClosedReview(review_id, key, decision, vendor_id, tuple(candidates), "reviewer")


def test_a_confirmation_teaches_an_alias_and_a_rejection_names_one_vendor_or_every_candidate():
    confirmed, rejected = lessons(
        [
            closed("r1", "confirm", "a", key="GAME RANGERS"),
            closed("r2", "reject", "b", key="DISCOVERY"),
            closed("r3", "reject", None, key="KING PIE", candidates=("king_price", "kfc")),
        ]
    )
    assert confirmed == [Lesson("GAME RANGERS", "a", "r1", "reviewer")]
    assert [(r.descriptor_norm, r.vendor_id) for r in rejected] == [
        ("DISCOVERY", "b"),
        ("KING PIE", "king_price"),
        ("KING PIE", "kfc"),
    ]


def test_within_a_batch_the_later_decision_on_a_descriptor_wins():
    confirmed, rejected = lessons(
        [closed("r1", "confirm", "a"), closed("r2", "reject", "a"), closed("r3", "confirm", "b")]
    )
    assert [(c.vendor_id, c.review_id) for c in confirmed] == [("b", "r3")]
    assert [(r.vendor_id, r.review_id) for r in rejected] == [("a", "r2")]
    confirmed, rejected = lessons([closed("r1", "reject", "a"), closed("r2", "confirm", "a")])
    assert [c.vendor_id for c in confirmed] == ["a"]
    assert rejected == []


def test_nothing_is_learned_without_a_descriptor_or_a_confirmed_vendor():
    assert lessons([closed("r1", "confirm", "a", key=""), closed("r2", "confirm", None)]) == (
        [],
        [],
    )


def test_the_first_decision_on_a_review_is_the_one_applied():
    decisions = [
        ReviewDecision("r1", "confirm", "a", "first"),
        ReviewDecision("r2", "reject", None, "first"),
        ReviewDecision("r1", "reject", "a", "second"),
    ]
    assert first_decision_per_review(decisions) == decisions[:2]
