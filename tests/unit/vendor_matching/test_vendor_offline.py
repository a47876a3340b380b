"""`loyalty vendors match`: descriptors in, one JSON verdict per line out, no database."""

import io
import subprocess
import sys

import orjson
import pytest

from services.vendor_matching.data import data_path
from services.vendor_matching.offline import LineError, load_engine, match_lines, parse_line


@pytest.fixture(scope="module")
def engine():
    found = load_engine(data_path("vendors.csv"), io.StringIO())
    assert found is not None
    return found


def test_plain_and_json_lines_get_one_answer_each_in_order(engine):
    lines = [
        "POS PURCHASE WOOLIES SANDTON\n",
        '{"descriptor": "DEBIT ORDER DISCOVERY 123", "channel": "debit_order"}\n',
        "MONTHLY ACCOUNT FEE\n",
        '{"descriptor": "?", "merchant_id": "368621675767412", "channel": "card"}\n',
    ]
    answers = list(match_lines(engine, lines))
    assert [(a["decision"], a["vendor_id"]) for a in answers] == [
        ("accepted", "woolworths"),
        ("review", None),
        ("unmatched", None),
        ("accepted", "woolworths"),
    ]
    assert answers[0]["descriptor"] == "POS PURCHASE WOOLIES SANDTON"
    assert answers[3]["method"] == "merchant_id"


def test_confidences_are_fractions_and_a_review_lists_its_candidates(engine):
    [review] = match_lines(engine, ['{"descriptor": "DEBIT ORDER DISCOVERY 1234567"}'])
    assert review["decision"] == "review"
    assert 0 < review["confidence"] < 1
    assert review["confidence"] == review["candidates"][0]["confidence"]
    assert {c["vendor_id"] for c in review["candidates"]} >= {
        "discovery_health",
        "discovery_insure",
    }
    assert all(0 <= c["confidence"] <= 1 for c in review["candidates"])


def test_an_unreadable_line_is_answered_with_an_error_and_the_rest_go_on(engine):
    answers = list(match_lines(engine, ['{"descriptor": 5}', "{not json", "WOOLWORTHS"]))
    assert [a["decision"] for a in answers] == ["error", "error", "accepted"]
    assert answers[0]["error"] == "a JSON line needs a string descriptor"


def test_the_fixed_width_card_layout_is_kept_as_written():
    query = parse_line("WOOLWORTHS KOLONNADE     WORCESTER    ZA\r\n")
    assert len(query.descriptor) == 40


@pytest.mark.parametrize(
    ("line", "reason"),
    [('{"descriptor": "X", "channel": 3}', "channel must be"), ("[1]", None), ("{", "JSON")],
)
def test_json_lines_are_checked(line, reason):
    if reason is None:
        assert parse_line(line).descriptor == "[1]"
        return
    with pytest.raises(LineError, match=reason):
        parse_line(line)


def test_the_command_reads_stdin_and_writes_json_lines(tmp_path):
    vendors = tmp_path / "vendors.csv"
    vendors.write_text(
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,user_codes,aliases\n"
        "woolworths,Woolworths,groceries,true,true,111,,WOOLIES\n"
        "bad,,groceries,true,true,,,\n",
        encoding="utf-8",
    )
    command = ["vendors", "match", "--vendors", str(vendors)]
    done = subprocess.run(
        [sys.executable, "-c", "from shared.cli import main; main()", *command],
        input="WOOLIES ROSEBANK\nJOES BUTCHERY\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answers = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [(a["decision"], a["vendor_id"], a["confidence"]) for a in answers] == [
        ("accepted", "woolworths", 1.0),
        ("unmatched", None, 0.0),
    ]
    assert "vendors.csv:3: skipped: name must be" in done.stderr
