"""The intake report as the REST API shows it (`Validation`): what would be sent, what was refused
and why, each person's own text when it is personal, and what it costs. Shared by batch creation,
dry runs and every error that carries a validation (`webhooks.api.models.Error`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from multisms.batches import Validation as ValidationResult


class Problem(BaseModel):
    """What is wrong with one field (some problems carry more detail, e.g. `placeholder`)."""

    model_config = ConfigDict(extra="allow")

    field: str
    message: str


class InvalidNumber(BaseModel):
    number: str
    reason: str


class Duplicate(BaseModel):
    number: str
    normalized: str
    same_as: str


class PersonalText(BaseModel):
    """One recipient's own text as it will go out (number masked)."""

    number: str
    body: str
    characters: int
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    units: int
    ucs2_characters: list[str]


class Validation(BaseModel):
    """The intake report: what would be sent, what was refused and why, and what it costs in segments."""

    ok: bool
    sender: str | None
    valid_count: int
    invalid_count: int
    duplicate_count: int
    opted_out_count: int
    recipients: list[str]
    invalid: list[InvalidNumber]
    duplicates: list[Duplicate]
    opted_out: list[str]
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    units: int
    ucs2_characters: list[str]
    total_segments: int = Field(description="of every recipient's own text together: what is billed")
    problems: list[Problem]
    personalized: bool = Field(description="the body has placeholders: each recipient gets their own text")
    lists: list[str] = Field(description="contact lists the recipients came from")
    example: PersonalText | None = Field(description="the first recipient's text")
    longest: PersonalText | None
    encodings: dict[str, int] = Field(description="texts per encoding")
    cost: float | None = Field(description="total_segments × MULTI_SMS_PRICE_PER_SEGMENT")
    currency: str | None

    @classmethod
    def of(cls, validation: ValidationResult) -> Validation:
        return cls.model_validate(validation.to_dict())
