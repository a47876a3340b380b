"""The layouts come from the bank's copybooks and agree with the interface's tables."""

from __future__ import annotations

import pytest

from services.debit_orders.copybook import DOEXEC, LYCRED, CopybookError, parse_copybook

# (name, kind, digits, scale, signed, offset, length), from debit-order-files.md, by hand.
DOEXEC_DETAIL = [
    ("DOD-REC-TYPE", "alnum", 1, 0, False, 0, 1),
    ("DOD-SEQUENCE-NO", "packed", 9, 0, False, 1, 5),
    ("DOD-CUSTOMER-NO", "alnum", 12, 0, False, 6, 12),
    ("DOD-ACCOUNT-NO", "packed", 13, 0, False, 18, 7),
    ("DOD-USER-CODE", "alnum", 4, 0, False, 25, 4),
    ("DOD-USER-SHORT-NAME", "alnum", 10, 0, False, 29, 10),
    ("DOD-USER-REFERENCE", "alnum", 20, 0, False, 39, 20),
    ("DOD-ACTION-DATE", "zoned", 8, 0, False, 59, 8),
    ("DOD-AMOUNT", "packed", 13, 2, True, 67, 7),
    ("DOD-CURRENCY", "alnum", 3, 0, False, 74, 3),
    ("DOD-STATUS", "alnum", 2, 0, False, 77, 2),
    ("DOD-ENTRY-CLASS", "zoned", 2, 0, False, 79, 2),
    ("DOD-ORIG-SEQUENCE-NO", "packed", 9, 0, False, 81, 5),
    ("DOD-ORIG-RUN-DATE", "zoned", 8, 0, False, 86, 8),
    ("FILLER-94", "alnum", 56, 0, False, 94, 56),
]
LYCRED_DETAIL = [
    ("LYD-REC-TYPE", "alnum", 1, 0, False, 0, 1),
    ("LYD-SEQUENCE-NO", "packed", 9, 0, False, 1, 5),
    ("LYD-CUSTOMER-NO", "alnum", 12, 0, False, 6, 12),
    ("LYD-ACCOUNT-NO", "packed", 13, 0, False, 18, 7),
    ("LYD-DIRECTION", "alnum", 1, 0, False, 25, 1),
    ("LYD-AMOUNT", "packed", 13, 2, True, 26, 7),
    ("LYD-CURRENCY", "alnum", 3, 0, False, 33, 3),
    ("LYD-REFERENCE", "alnum", 20, 0, False, 36, 20),
    ("LYD-NARRATIVE", "alnum", 30, 0, False, 56, 30),
    ("LYD-VALUE-DATE", "zoned", 8, 0, False, 86, 8),
    ("FILLER-94", "alnum", 26, 0, False, 94, 26),
]


def shape(layout_fields) -> list[tuple[object, ...]]:
    return [
        (f.name, f.kind, f.digits, f.scale, f.signed, f.offset, f.length) for f in layout_fields
    ]


def test_detail_layouts_are_the_interfaces_tables() -> None:
    assert shape(DOEXEC["DO-DETAIL-REC"].fields) == DOEXEC_DETAIL
    assert shape(LYCRED["LY-DETAIL-REC"].fields) == LYCRED_DETAIL


def test_every_record_type_is_exactly_lrecl_long() -> None:
    assert {name: layout.lrecl for name, layout in DOEXEC.items()} == {
        "DO-RECORD": 150, "DO-HEADER-REC": 150, "DO-DETAIL-REC": 150, "DO-TRAILER-REC": 150,
    }  # fmt: skip
    assert {name: layout.lrecl for name, layout in LYCRED.items()} == {
        "LY-RECORD": 120, "LY-HEADER-REC": 120, "LY-DETAIL-REC": 120, "LY-TRAILER-REC": 120,
    }  # fmt: skip
    for layout in [*DOEXEC.values(), *LYCRED.values()]:
        assert sum(f.length for f in layout.fields) == layout.lrecl


def test_trailers_and_88_levels() -> None:
    trailer = DOEXEC["DO-TRAILER-REC"]
    assert shape(trailer.data_fields) == [
        ("DOT-REC-TYPE", "alnum", 1, 0, False, 0, 1),
        ("DOT-RECORD-COUNT", "packed", 9, 0, False, 1, 5),
        ("DOT-TOTAL-AMOUNT", "packed", 17, 2, True, 6, 9),
        ("DOT-HASH-TOTAL", "packed", 17, 0, False, 15, 9),
    ]
    assert trailer.redefines == "DO-RECORD"
    assert DOEXEC["DO-DETAIL-REC"].by_name["DOD-STATUS"].values == ("00", "02", "04", "30", "RV")
    assert LYCRED["LY-DETAIL-REC"].by_name["LYD-DIRECTION"].values == ("C", "D")
    assert DOEXEC["DO-RECORD"].by_name["DO-REC-TYPE"].values == ("H", "D", "T")
    dates = [f.name for layout in (*DOEXEC.values(), *LYCRED.values()) for f in layout.fields
             if f.is_date]  # fmt: skip
    assert dates == [
        "DOH-RUN-DATE", "DOD-ACTION-DATE", "DOD-ORIG-RUN-DATE",
        "LYH-CREATION-DATE", "LYD-VALUE-DATE",
    ]  # fmt: skip


def cpy(*lines: str) -> str:
    return "\n".join(" " * 7 + line for line in lines)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (cpy("01  R.", "    05  A  PIC X(2).", "    05  B  PIC S9(3)."), "signed zoned"),
        (cpy("01  R.", "    05  A  PIC X(2) COMP-3."), "PIC X takes no"),
        (cpy("01  R.", "    05  G.", "        10  A  PIC X."), "unsupported entry"),
        (cpy("01  R.", "    05  A  PIC Z(5)."), "unsupported picture"),
        (cpy("01  R.", "    05  A  PIC X.", "        88  Y  VALUE 1."), "quoted literal"),
        (cpy("01  R REDEFINES Q.", "    05  A  PIC X."), "redefines unknown record"),
        ("      * LRECL=3\n" + cpy("01  R.", "    05  A  PIC X(4)."), "declares LRECL=3"),
    ],
)
def test_what_the_reader_does_not_understand_is_an_error(text: str, message: str) -> None:
    with pytest.raises(CopybookError, match=message):
        parse_copybook(text)


def test_the_supported_picture_forms() -> None:
    layouts = parse_copybook(
        cpy("01  R.", "    05  A  PIC XXX.", "    05  B  PIC 9(4)V9(3) COMP-3.",
            "    05  C  PIC 99V99.", "    05  FILLER  PIC X.")
    )  # fmt: skip
    assert shape(layouts["R"].fields) == [
        ("A", "alnum", 3, 0, False, 0, 3),
        ("B", "packed", 7, 3, False, 3, 4),
        ("C", "zoned", 4, 2, False, 7, 4),
        ("FILLER-11", "alnum", 1, 0, False, 11, 1),
    ]
