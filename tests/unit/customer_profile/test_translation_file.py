"""Reading a translation file: CSV or YAML, every bad row reported with its line number."""

from __future__ import annotations

import pytest

from services.customer_profile.translations import (
    RowError,
    Translation,
    TranslationFileError,
    check_rows,
    placeholders,
    read_rows,
)

ENGLISH = {
    "activity.earned": "You earned {points} {unit}",
    "tier.gold": "Gold",
}

ZULU_CSV = """text_key,language,text
activity.earned,zu,"Uthole {points} {unit}"
tier.gold,zu,Igolide
"""


def check(content: str, *, yaml_format: bool = False) -> tuple[list[Translation], list[RowError]]:
    return check_rows(read_rows(content, yaml_format=yaml_format), ENGLISH)


def test_a_csv_file_of_a_new_language_is_read() -> None:
    good, errors = check(ZULU_CSV)
    assert errors == []
    assert good == [
        Translation("activity.earned", "zu", "Uthole {points} {unit}"),
        Translation("tier.gold", "zu", "Igolide"),
    ]


def test_yaml_as_a_list_of_entries_or_a_mapping_of_keys_reads_the_same() -> None:
    as_list = """
- text_key: activity.earned
  language: zu
  text: "Uthole {points} {unit}"
- {text_key: tier.gold, language: zu, text: Igolide}
"""
    as_mapping = """
activity.earned:
  zu: "Uthole {points} {unit}"
tier.gold: {zu: Igolide}
"""
    expected = check(ZULU_CSV)
    assert check(as_list, yaml_format=True) == expected
    assert check(as_mapping, yaml_format=True) == expected


def test_bad_rows_are_reported_with_their_line_and_the_good_ones_kept() -> None:
    content = """text_key,language,text
activity.earned,zu,Uthole {points} {unit}
Activity Earned,zu,Uthole
tier.gold,zulu,Igolide
tier.gold,zu,
activity.earned,af,Jy het {punte} verdien
activity.unknown,zu,Akwaziwa
activity.earned,zu,Uthole futhi {points}
tier.gold,zu,Igolide {unclosed
tier.gold,zu
"""
    good, errors = check(content)
    assert good == [Translation("activity.earned", "zu", "Uthole {points} {unit}")]
    assert [e.line_no for e in errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    reasons = {e.line_no: e.reason for e in errors}
    assert "text_key" in reasons[3]
    assert "language" in reasons[4]
    assert "empty" in reasons[5]
    assert "punte" in reasons[6]  # the customer would see a blank where the points go
    assert "no English text" in reasons[7]
    assert "line 2" in reasons[8]
    assert "template" in reasons[9]
    assert "2 columns" in reasons[10]


def test_line_numbers_count_multi_line_texts_and_skip_blank_lines() -> None:
    content = 'text_key,language,text\n\ntier.gold,zu,"Igo\nlide {x}"\ntier.gold,xx-y,Gold\n'
    _, errors = check(content)
    assert [e.line_no for e in errors] == [3, 5]


def test_english_texts_in_the_same_file_make_their_translations_valid() -> None:
    content = """text_key,language,text
tier.diamond,zu,Idayimane
tier.diamond,en,Diamond
"""
    good, errors = check(content)
    assert errors == []
    assert {t.language for t in good} == {"zu", "en"}


def test_yaml_line_numbers_point_at_the_entry() -> None:
    content = """
activity.earned:
  zu: "Uthole {points} {unit}"
  xh: "Ufumene {amanqaku}"
"""
    _, errors = check(content, yaml_format=True)
    assert [e.line_no for e in errors] == [4]


def test_a_file_of_the_wrong_shape_is_refused_as_a_whole() -> None:
    with pytest.raises(TranslationFileError, match="header"):
        read_rows("key,lang,value\n", yaml_format=False)
    with pytest.raises(TranslationFileError, match="YAML"):
        read_rows("a: [unclosed", yaml_format=True)
    with pytest.raises(TranslationFileError, match="list"):
        read_rows("just text", yaml_format=True)


def test_placeholders_must_be_plain_names() -> None:
    assert placeholders("{points} {unit}") == {"points", "unit"}
    with pytest.raises(ValueError, match="plain"):
        placeholders("{points:,}")
    with pytest.raises(ValueError, match="plain"):
        placeholders("{0}")


def test_a_statement_narrative_must_fit_the_files_narrative_field() -> None:
    content = (
        "text_key,language,text\n"
        "narrative.cashback,en,Rewards cash back\n"
        "narrative.cashback,af,Belonings kontant terug uitbetaling\n"
    )
    good, errors = check(content)
    assert [t.language for t in good] == ["en"]
    assert [(e.line_no, e.reason) for e in errors] == [(3, "text is longer than 30 characters")]
