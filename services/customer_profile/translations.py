"""Read and check a translation file for `loyalty translations import FILE` (pure).

A file is CSV (header `text_key,language,text`) or YAML: either a list of mappings with
those three fields, or `text_key: {language: text}`. Every rejected row is reported with
the line a person sees in an editor, so that a few bad rows never stop the good ones.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import yaml

from services.customer_profile.domain import FALLBACK_LANGUAGE

HEADER: Final = ("text_key", "language", "text")
TEXT_KEY: Final = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
LANGUAGE: Final = re.compile(r"[a-z]{2,3}")  # ISO 639-1, or 639-3 where 639-1 has none
MAX_TEXT: Final = 500
# Statement narratives go into the bank's LYCRED file, whose narrative field is 30 wide.
MAX_LENGTH_BY_NAMESPACE: Final = {"narrative": 30}


@dataclass(frozen=True, slots=True)
class Translation:
    text_key: str
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class SourceRow:
    line_no: int
    text_key: str
    language: str
    text: str
    malformed: str | None = None  # what was found instead of the three fields


def _malformed(line_no: int, found: str) -> SourceRow:
    return SourceRow(line_no, "", "", "", malformed=found)


@dataclass(frozen=True, slots=True)
class RowError:
    line_no: int
    reason: str


class TranslationFileError(ValueError):
    """The file as a whole cannot be read (wrong header, not YAML, wrong shape)."""


def read_rows(content: str, *, yaml_format: bool) -> list[SourceRow]:
    """The rows of a CSV or YAML file with their line numbers, not yet checked."""
    return _yaml_rows(content) if yaml_format else _csv_rows(content)


def _csv_rows(content: str) -> list[SourceRow]:
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if header is None or tuple(h.strip().lstrip("\ufeff") for h in header) != HEADER:
        raise TranslationFileError(f"the CSV header must be {','.join(HEADER)}")
    rows: list[SourceRow] = []
    starts_at = reader.line_num + 1
    for cells in reader:
        line_no, starts_at = starts_at, reader.line_num + 1  # a quoted text may span lines
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            rows.append(_malformed(line_no, f"{len(cells)} columns"))
            continue
        rows.append(SourceRow(line_no, cells[0].strip(), cells[1].strip(), cells[2]))
    return rows


def _scalar(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""


def _yaml_rows(content: str) -> list[SourceRow]:
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise TranslationFileError(f"not valid YAML: {error}") from None
    if root is None:
        return []
    if isinstance(root, yaml.SequenceNode):
        return [_yaml_item(item) for item in root.value]
    if isinstance(root, yaml.MappingNode):
        rows = []
        for key_node, languages in root.value:
            if not isinstance(languages, yaml.MappingNode):
                rows.append(_malformed(key_node.start_mark.line + 1, "no mapping of languages"))
                continue
            rows += [
                SourceRow(lang.start_mark.line + 1, _scalar(key_node), _scalar(lang), _scalar(text))
                for lang, text in languages.value
            ]
        return rows
    raise TranslationFileError("the YAML must be a list of entries or a mapping of text keys")


def _yaml_item(item: yaml.Node) -> SourceRow:
    line_no = item.start_mark.line + 1
    if not isinstance(item, yaml.MappingNode):
        return _malformed(line_no, "no mapping")
    fields = {_scalar(k): _scalar(v) for k, v in item.value}
    if set(fields) != set(HEADER):
        return _malformed(line_no, f"fields {', '.join(sorted(fields)) or 'none'}")
    return SourceRow(line_no, fields["text_key"], fields["language"], fields["text"])


def placeholders(template: str) -> frozenset[str]:
    """The `{name}` placeholders of a text; ValueError when it is not a valid template."""
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain {{name}}")
        names.add(name)
    return frozenset(names)


def _max_length(text_key: str) -> int:
    return MAX_LENGTH_BY_NAMESPACE.get(text_key.split(".", 1)[0], MAX_TEXT)


def _form_problem(row: SourceRow) -> str | None:
    """What is wrong with the row on its own."""
    problem = None
    if row.malformed is not None:
        problem = f"expected the fields {', '.join(HEADER)}, found {row.malformed}"
    elif not TEXT_KEY.fullmatch(row.text_key):
        problem = f"text_key {row.text_key!r} must be dotted lower-case words (activity.earned)"
    elif not LANGUAGE.fullmatch(row.language):
        problem = f"language {row.language!r} must be an ISO 639 code such as en, af, zu"
    elif not row.text.strip():
        problem = "text is empty"
    elif len(row.text) > (limit := _max_length(row.text_key)):
        problem = f"text is longer than {limit} characters"
    else:
        try:
            placeholders(row.text)
        except ValueError as error:
            problem = f"text is not a valid template: {error}"
    return problem


def _problem(row: SourceRow, english: Mapping[str, str]) -> str | None:
    problem = _form_problem(row)
    if problem is not None or row.language == FALLBACK_LANGUAGE:
        return problem
    if row.text_key not in english:
        return f"{row.text_key} has no English text (English is every language's fallback)"
    unknown = placeholders(row.text) - placeholders(english[row.text_key])
    if unknown:
        return f"placeholder(s) {', '.join(sorted(unknown))} not in the English text"
    return None


def check_rows(
    rows: Iterable[SourceRow], english: Mapping[str, str]
) -> tuple[list[Translation], list[RowError]]:
    """The good translations and one error per bad row.

    `english` holds the English texts already in the catalogue; the file's own English rows
    count too. A translation may only use placeholders its English text fills.
    """
    rows = list(rows)
    known = dict(english)
    for row in rows:
        if row.language == FALLBACK_LANGUAGE and _form_problem(row) is None:
            known[row.text_key] = row.text
    good: list[Translation] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        problem = _problem(row, known)
        first = seen.get((row.text_key, row.language))
        if problem is None and first is not None:
            problem = f"{row.text_key} [{row.language}] is already on line {first}"
        if problem is not None:
            errors.append(RowError(row.line_no, problem))
            continue
        seen[(row.text_key, row.language)] = row.line_no
        good.append(Translation(row.text_key, row.language, row.text))
    return good, errors
