"""Personal texts: `Hi {name|there}, your plate {Plate}` filled in for each recipient.

Template rules, the same wherever a text is written (Slack, REST, panel):
- `{field}` takes the recipient's value of that contact field; names match case-insensitively
  (`{imię}` ↔ `Imię`, `{plate}` ↔ `Plate`) and an empty value counts as no value;
- `{field|fallback}` uses the fallback when there is no value (`{imię|}`: nothing);
- `{{` and `}}` write literal braces; any other `{` or `}` is a syntax error at its position.

A numbers-only recipient (no contact) has no fields, so it gets the fallbacks. Pure: the
preview needs no database, so every adapter shows the same problems and the same texts.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from multisms.config import MAX_BODY_CHARS
from multisms.errors import MissingFieldValue, TemplateSyntaxError
from multisms.numbers import mask
from multisms.segments import SegmentInfo, analyze

EXAMPLE_NUMBERS = 3
"""Masked numbers named per problem: enough to find the rows, short enough for a preview."""
KNOWN_FIELDS_SHOWN = 10
"""Field names listed next to an unknown one, so the person sees what they could write."""

_BRACE = re.compile(r"[{}]")
_PLACEHOLDER = re.compile(r"\{([^{}|]*)(?:\|([^{}]*))?\}")


def field_key(name: str) -> str:
    """How field names compare: trimmed, NFC (macOS writes `ę` as two code points), casefolded."""
    return unicodedata.normalize("NFC", name.strip()).casefold()


@dataclass(frozen=True)
class Placeholder:
    """`{field}` or `{field|fallback}` as written; `position` is the 0-based offset of its `{`."""

    field: str
    fallback: str | None
    position: int

    @cached_property
    def key(self) -> str:
        return field_key(self.field)


@dataclass(frozen=True)
class Template:
    """A parsed text: literal strings (braces already unescaped) and placeholders, in order."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(part for part in self.parts if isinstance(part, Placeholder))

    @property
    def is_plain(self) -> bool:
        """No placeholders: every recipient gets the same text."""
        return all(isinstance(part, str) for part in self.parts)

    def render(self, fields: Mapping[str, str] | None) -> str:
        """This recipient's text. Raises `MissingFieldValue` for a value-less field without fallback."""
        return _fill(self, field_values(fields))


@dataclass(frozen=True)
class Recipient:
    """Who a text goes to: an E.164 number and, for a contact, its fields (None: numbers only)."""

    e164: str
    fields: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RenderedText:
    """One recipient's own text, as it will be sent, stored and paced."""

    e164: str
    body: str
    segments: SegmentInfo

    def to_dict(self) -> dict:
        return {"number": mask(self.e164), "body": self.body, "characters": len(self.body), **self.segments.to_dict()}


@dataclass(frozen=True)
class TemplateProblem:
    """Why the preview refuses: `kind` is syntax, unknown_field, missing_value, empty_text or too_long."""

    kind: str
    message: str
    placeholder: str | None = None
    count: int = 0
    numbers: tuple[str, ...] = ()
    """Masked numbers of some recipients concerned."""
    position: int | None = None

    def to_dict(self) -> dict:
        return {"field": "body", "kind": self.kind, "message": self.message, "placeholder": self.placeholder,
                "count": self.count, "numbers": list(self.numbers), "position": self.position}


@dataclass(frozen=True)
class PersonalPreview:
    """What the preview shows about personal texts; `texts` holds every text that could be rendered."""

    template: Template | None
    texts: tuple[RenderedText, ...]
    problems: tuple[TemplateProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def example(self) -> RenderedText | None:
        return self.texts[0] if self.texts else None

    @property
    def longest(self) -> RenderedText | None:
        return max(self.texts, key=lambda text: len(text.body), default=None)

    @property
    def total_segments(self) -> int:
        return sum(text.segments.segments for text in self.texts)

    @property
    def encodings(self) -> dict[str, int]:
        """How many texts go out in each encoding (an emoji in one name makes only that text UCS-2)."""
        return dict(Counter(text.segments.encoding for text in self.texts))

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "personalized": self.template is not None and not self.template.is_plain,
            "example": self.example.to_dict() if self.example else None,
            "longest": self.longest.to_dict() if self.longest else None,
            "total_segments": self.total_segments,
            "encodings": self.encodings,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def parse_template(text: str) -> Template:
    """Split a text into literals and placeholders; raises `TemplateSyntaxError` naming the position."""
    if "{" not in text and "}" not in text:
        return Template(text, (text,) if text else ())
    parts: list[str | Placeholder] = []
    literal = ""
    start = 0
    while (brace := _BRACE.search(text, start)) is not None:
        at = brace.start()
        literal += text[start:at]
        if text.startswith(("{{", "}}"), at):
            literal += text[at]
            start = at + 2
            continue
        placeholder, start = _placeholder_at(text, at)
        parts.extend([literal, placeholder] if literal else [placeholder])
        literal = ""
    literal += text[start:]
    if literal:
        parts.append(literal)
    return Template(text, tuple(parts))


def field_values(fields: Mapping[str, str] | None) -> dict[str, str]:
    """A contact's fields keyed for lookup; empty values are left out, so fallbacks apply."""
    if not fields:
        return {}
    return {field_key(name): value for name, value in fields.items() if value is not None and str(value).strip()}


def _fill(template: Template, values: Mapping[str, str]) -> str:
    """The text with each placeholder replaced; `values` as `field_values` keys them."""
    pieces = []
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
        elif part.key in values:
            pieces.append(values[part.key])
        elif part.fallback is not None:
            pieces.append(part.fallback)
        else:
            raise MissingFieldValue(f"No value for {{{part.field}}} and no fallback.")
    return "".join(pieces)


def preview(text: str, recipients: Sequence[Recipient], known_fields: Iterable[str] = ()) -> PersonalPreview:
    """Check and render a text for every recipient at once, so the preview names every problem.

    `known_fields` are the field names that exist anywhere (all contacts, the CSV headers);
    the recipients' own field names count as known too. An unknown field is refused even
    with a fallback: it is almost always a typo that would send everyone the fallback.
    """
    try:
        template = parse_template(text)
    except TemplateSyntaxError as exc:
        return PersonalPreview(None, (), (TemplateProblem("syntax", str(exc), position=exc.position),))
    if template.is_plain:
        return _plain_preview(template, recipients)
    known = _known_names(known_fields, recipients)
    unknown = [placeholder for placeholder in _distinct(template.placeholders) if placeholder.key not in known]
    problems = [_unknown_problem(placeholder, known) for placeholder in unknown]
    texts, missing = _render_each(template, recipients, skip={placeholder.key for placeholder in unknown})
    problems += missing
    problems += _text_problems(texts)
    return PersonalPreview(template, tuple(texts), tuple(problems))


def _placeholder_at(text: str, at: int) -> tuple[Placeholder, int]:
    """The placeholder opening at `at` and where it ends, or the syntax error a person can fix."""
    near = f' near "{text[max(at - 10, 0):at + 10]}"'
    if text[at] == "}":
        raise TemplateSyntaxError(
            f"'}}' at character {at + 1}{near} has no opening '{{': write '}}}}' for a literal brace.", at)
    match = _PLACEHOLDER.match(text, at)
    if match is None:
        raise TemplateSyntaxError(
            f"'{{' at character {at + 1}{near} is not closed: end the field with '}}', "
            "or write '{{' for a literal brace.", at)
    if not match.group(1).strip():
        raise TemplateSyntaxError(
            f"Empty field at character {at + 1}{near}: put a field name inside, like {{name}}.", at)
    return Placeholder(match.group(1).strip(), match.group(2), at), match.end()


def _plain_preview(template: Template, recipients: Sequence[Recipient]) -> PersonalPreview:
    """The same text for everyone: analyse it once, whatever the number of recipients."""
    body = template.render(None)
    segments = analyze(body)
    texts = tuple(RenderedText(recipient.e164, body, segments) for recipient in recipients)
    return PersonalPreview(template, texts, tuple(_text_problems(texts)))


def _known_names(known_fields: Iterable[str], recipients: Sequence[Recipient]) -> dict[str, str]:
    """Lookup key → a spelling to show, from the given names and every recipient's fields."""
    known: dict[str, str] = {}
    for name in known_fields:
        known.setdefault(field_key(name), name.strip())
    for recipient in recipients:
        for name in recipient.fields or ():
            known.setdefault(field_key(name), name.strip())
    return known


def _unknown_problem(placeholder: Placeholder, known: Mapping[str, str]) -> TemplateProblem:
    message = f"Unknown field {{{placeholder.field}}}: no contact or CSV column has it."
    close = difflib.get_close_matches(placeholder.key, list(known), n=1)
    if close:
        message += f" Did you mean {{{known[close[0]]}}}?"
    elif known:
        message += " Fields you can use: " + ", ".join(sorted(known.values())[:KNOWN_FIELDS_SHOWN]) + "."
    return TemplateProblem("unknown_field", message, placeholder=placeholder.field)


def _render_each(template: Template, recipients: Sequence[Recipient],
                 skip: set[str]) -> tuple[list[RenderedText], list[TemplateProblem]]:
    """Render every recipient that has what its text needs; the others, grouped by missing field.

    Fields in `skip` (unknown ones, already reported) block the text without a second problem.
    """
    required = _distinct(placeholder for placeholder in template.placeholders if placeholder.fallback is None)
    lacking: dict[str, list[Recipient]] = {placeholder.field: [] for placeholder in required}
    texts: list[RenderedText] = []
    analysed: dict[str, SegmentInfo] = {}
    for recipient in recipients:
        values = field_values(recipient.fields)
        missing = [placeholder.field for placeholder in required if placeholder.key not in values]
        for name in missing:
            lacking[name].append(recipient)
        if not missing:
            body = _fill(template, values)
            if body not in analysed:
                analysed[body] = analyze(body)
            texts.append(RenderedText(recipient.e164, body, analysed[body]))
    problems = [_missing_problem(placeholder.field, lacking[placeholder.field])
                for placeholder in required if lacking[placeholder.field] and placeholder.key not in skip]
    return texts, problems


def _missing_problem(name: str, recipients: list[Recipient]) -> TemplateProblem:
    without_contact = sum(1 for recipient in recipients if recipient.fields is None)
    numbers = tuple(mask(recipient.e164) for recipient in recipients[:EXAMPLE_NUMBERS])
    who = _some_numbers(numbers, len(recipients))
    if without_contact:
        verb = "are numbers" if without_contact > 1 else "is a number"
        who += f"; {without_contact} of them {verb} without a contact"
    message = (f"{{{name}}} has no value for {_recipients(len(recipients))} ({who}): "
               f"fill it in, or add a fallback like {{{name}|…}}.")
    return TemplateProblem("missing_value", message, placeholder=name, count=len(recipients), numbers=numbers)


def _text_problems(texts: Sequence[RenderedText]) -> list[TemplateProblem]:
    """Each text on its own must be sendable: not empty, not over Twilio's length limit."""
    problems = []
    empty = [text for text in texts if not text.body.strip()]
    if empty:
        problems.append(_text_problem("empty_text", empty, "would get an empty text: add words outside the fields"))
    too_long = [text for text in texts if len(text.body) > MAX_BODY_CHARS]
    if too_long:
        longest = max(len(text.body) for text in too_long)
        problems.append(_text_problem(
            "too_long", too_long, f"would get more than {MAX_BODY_CHARS} characters (up to {longest}): "
            "shorten the text or the field values"))
    return problems


def _text_problem(kind: str, texts: Sequence[RenderedText], what: str) -> TemplateProblem:
    numbers = tuple(mask(text.e164) for text in texts[:EXAMPLE_NUMBERS])
    message = f"{_recipients(len(texts))} ({_some_numbers(numbers, len(texts))}) {what}."
    return TemplateProblem(kind, message[0].upper() + message[1:], count=len(texts), numbers=numbers)


def _recipients(count: int) -> str:
    return f"{count} recipient{'' if count == 1 else 's'}"


def _some_numbers(masked: Sequence[str], count: int) -> str:
    return ", ".join(masked) + (", …" if count > len(masked) else "")


def _distinct(placeholders: Iterable[Placeholder]) -> list[Placeholder]:
    """One placeholder per field: `{name}` and `{Name}` are one problem, not two."""
    seen: dict[str, Placeholder] = {}
    for placeholder in placeholders:
        seen.setdefault(placeholder.key, placeholder)
    return list(seen.values())
