"""Reading the vendor master file: good rows in, bad rows reported by line."""

import io

import pytest

from services.vendor_matching.domain import Vendor
from services.vendor_matching.evaluation import seed_vendors
from services.vendor_matching.vendors_csv import (
    HEADER,
    RowError,
    conflicts_with_master,
    parse_vendor_csv,
)

HEADER_LINE = ",".join(HEADER)


def parse(*rows: str):
    """Parse a file with these rows after the header, read line by line like a file."""
    text = "".join(f"{line}\n" for line in (HEADER_LINE, *rows))
    return parse_vendor_csv(io.StringIO(text, newline=""))


def test_a_good_file_gives_vendors_with_their_lists():
    vendors, errors = parse(
        "woolworths,Woolworths,groceries,true,true,111|222,,WOOLIES|WW FOOD",
        'virgin_active,"Virgin Active, SA",fitness,false,false,,0421|ab1,',
    )
    assert errors == []
    assert vendors == [
        Vendor(
            "woolworths",
            "Woolworths",
            "groceries",
            partner=True,
            accepts_redemptions=True,
            merchant_ids=("111", "222"),
            aliases=("WOOLIES", "WW FOOD"),
        ),
        Vendor(
            "virgin_active",
            "Virgin Active, SA",
            "fitness",
            partner=False,
            accepts_redemptions=False,
            user_codes=("0421", "AB1"),
        ),
    ]


def test_the_shipped_seed_master_is_valid():
    vendors = seed_vendors()
    assert len(vendors) >= 60
    assert len({v.category for v in vendors}) >= 8


@pytest.mark.parametrize(
    "header",
    [
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,user_codes",
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,aliases,user_codes",
        "Vendor_ID,name,category,partner,accepts_redemptions,merchant_ids,user_codes,aliases",
    ],
)
def test_a_file_without_the_exact_header_is_not_read(header):
    vendors, errors = parse_vendor_csv([header + "\n", "a,A,retail,true,true,,,\n"])
    assert vendors == []
    assert errors == [RowError(1, f"header must be exactly {HEADER_LINE}")]


def test_an_empty_file_is_an_error_on_line_one():
    assert parse_vendor_csv([]) == ([], [RowError(1, "the file is empty; expected a header row")])


def test_a_byte_order_mark_and_blank_lines_are_tolerated():
    vendors, errors = parse_vendor_csv(
        [f"\ufeff{HEADER_LINE}\n", "\n", "a,A Shop,retail,true,true,,,\n", "   \n"]
    )
    assert errors == []
    assert [v.vendor_id for v in vendors] == ["a"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("a,A Shop,retail,yes,true,,,", "partner must be true or false, not 'yes'"),
        ("a,A Shop,retail,true,True,,,", "accepts_redemptions must be true or false, not 'True'"),
        (",A Shop,retail,true,true,,,", "vendor_id '' must be 1-64"),
        ("a b,A Shop,retail,true,true,,,", "vendor_id 'a b' must be 1-64"),
        ("a,,retail,true,true,,,", "name must be 1-120 characters"),
        ("a,12345,retail,true,true,,,", "has no words a statement could show"),
        ("a,A Shop,Retail Stores,true,true,,,", "category 'Retail Stores' must be a lowercase"),
        ("a,A Shop,retail,true,true,,ABCDE,", "user_codes item 'ABCDE' is not valid"),
        ("a,A Shop,retail,true,true,,12|,", "user_codes has an empty item"),
        ("a,A Shop,retail,true,true,1|1,,", "merchant_ids lists an item twice"),
        ("a,A Shop,retail,true,true,12-34,,", "merchant_ids item '12-34' is not valid"),
        ("a,A Shop,retail,true,true,,,PAYMENT", "alias 'PAYMENT' has no words"),
        ("a,A Shop,retail,true,true,,", "expected 8 columns, found 7"),
    ],
)
def test_each_bad_row_is_reported_with_its_reason(row, reason):
    vendors, errors = parse(row)
    assert vendors == []
    assert len(errors) == 1
    assert errors[0].line_no == 2
    assert reason in errors[0].reason


def test_bad_rows_do_not_stop_the_good_ones_and_keep_their_line_numbers():
    vendors, errors = parse(
        "a,A Shop,retail,true,true,M1,0001,",
        "b,B Shop,retail,maybe,true,,,",
        "c,C Shop,retail,true,true,,,",
        "a,A Again,retail,true,true,,,",
        "d,D Shop,retail,true,true,m1,,",
        "e,E Shop,retail,true,true,,0001,",
        "f,F Shop,retail,true,true,,,A SHOP",
        "g,G Shop,retail,true,true,,,",
    )
    assert [v.vendor_id for v in vendors] == ["a", "c", "g"]
    assert [(e.line_no, e.reason) for e in errors] == [
        (3, "partner must be true or false, not 'maybe'"),
        (5, "vendor_id 'a' already appears on line 2"),
        (6, "merchant id 'M1' already belongs to a (line 2)"),
        (7, "user code '0001' already belongs to a (line 2)"),
        (8, "name or alias 'ASHOP' already belongs to a (line 2)"),
    ]


def test_a_quoted_field_over_several_lines_keeps_later_line_numbers_right():
    vendors, errors = parse(
        'a,"A\nShop",retail,true,true,,,',
        "b,B Shop,retail,nope,true,,,",
    )
    assert [v.name for v in vendors] == ["A\nShop"]
    assert errors == [RowError(4, "partner must be true or false, not 'nope'")]


def test_broken_quoting_is_reported_not_raised():
    vendors, errors = parse('a,"A Shop"x,retail,true,true,,,', "b,B Shop,retail,true,true,,,")
    assert [v.vendor_id for v in vendors] == ["b"]
    assert errors[0].line_no == 2
    assert errors[0].reason.startswith("not valid CSV")


def test_parsing_the_same_file_twice_gives_the_same_result():
    lines = [f"{HEADER_LINE}\n", "a,A Shop,retail,true,true,1,2,X|Y\n", "b,B,retail,x,true,,,\n"]
    assert parse_vendor_csv(lines) == parse_vendor_csv(lines)


def test_an_import_may_not_take_a_key_a_stored_vendor_keeps():
    stored = [
        Vendor(
            "a", "A Shop", "retail", partner=True, accepts_redemptions=True, merchant_ids=("M1",)
        ),
        Vendor(
            "b", "B Shop", "retail", partner=True, accepts_redemptions=True, user_codes=("0001",)
        ),
    ]
    vendors, errors = parse(
        "c,C Shop,retail,true,true,M1,,",  # M1 stays with a
        "b,B Shop,retail,true,true,M2,,",  # b is replaced: its user code is free again
        "d,D Shop,retail,true,true,,0001,",
    )
    assert errors == []
    assert conflicts_with_master(stored, vendors) == {
        "c": "merchant id 'M1' already belongs to a (stored)"
    }
