"""Parties: the seller and the buyer, identified by VKN (companies) or TCKN (people), and their addresses."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ANONYMOUS_CONSUMER_TCKN",
    "FOREIGN_BUYER_VKN",
    "Address",
    "Party",
    "PartyKind",
    "validate_tax_id",
]

#: GİB's placeholder for a consumer who gives no identity number (e-Arşiv "nihai tüketici").
ANONYMOUS_CONSUMER_TCKN = "11111111111"
#: GİB's placeholder for a buyer abroad (IHRACAT and e-Arşiv sales to foreigners).
FOREIGN_BUYER_VKN = "2222222222"

_PLACEHOLDERS = frozenset({ANONYMOUS_CONSUMER_TCKN, FOREIGN_BUYER_VKN})


class PartyKind(StrEnum):
    PERSON = "person"  # TCKN, 11 digits
    COMPANY = "company"  # VKN, 10 digits


def validate_tax_id(value: str) -> str:
    """Check a VKN (10 digits) or TCKN (11 digits) with python-stdnum, accepting GİB's two placeholders."""
    from stdnum.exceptions import ValidationError
    from stdnum.tr import tckimlik, vkn

    number = value.strip().replace(" ", "")
    if number in _PLACEHOLDERS:
        return number
    if not number.isdigit():
        raise ValueError(f"a VKN has 10 digits and a TCKN 11; got {len(number)} characters with non-digits")
    module = {10: vkn, 11: tckimlik}.get(len(number))
    if module is None:
        raise ValueError(f"a VKN has 10 digits and a TCKN 11; got {len(number)} digits")
    try:
        return str(module.validate(number))
    except ValidationError as exc:
        kind = "VKN" if len(number) == 10 else "TCKN"
        raise ValueError(f"invalid {kind}: {exc}") from exc


class Address(BaseModel):
    """A postal address. GİB requires city (il) and district (ilçe) on Turkish addresses; abroad, the country."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    street: str = ""
    building: str = ""
    district: str = ""  # ilçe
    city: str  # il
    postal_code: str = ""
    country_code: str = "TR"  # ISO 3166-1 alpha-2
    country: str = "Türkiye"

    @field_validator("country_code")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError(f"country_code must be ISO 3166-1 alpha-2 like TR, got {value!r}")
        return code


class Party(BaseModel):
    """Someone who sells or buys. `tax_id` decides whether GİB sees a person (TCKN) or a company (VKN)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    tax_id: str
    tax_office: str = ""  # vergi dairesi, required by GİB for VKN holders on e-Fatura
    address: Address
    email: str | None = None
    phone: str | None = None
    first_name: str = ""
    family_name: str = ""

    @field_validator("tax_id")
    @classmethod
    def _tax_id(cls, value: str) -> str:
        return validate_tax_id(value)

    @model_validator(mode="after")
    def _person_names(self) -> Party:
        # UBL-TR needs a Person with FirstName/FamilyName for TCKN holders: split the name when not given.
        if self.kind is PartyKind.PERSON and not (self.first_name and self.family_name):
            first, _, family = self.name.strip().rpartition(" ")
            object.__setattr__(self, "first_name", self.first_name or first or family)
            object.__setattr__(self, "family_name", self.family_name or family)
        return self

    @property
    def kind(self) -> PartyKind:
        return PartyKind.PERSON if len(self.tax_id) == 11 else PartyKind.COMPANY

    @property
    def is_anonymous(self) -> bool:
        return self.tax_id == ANONYMOUS_CONSUMER_TCKN

    @property
    def is_foreign(self) -> bool:
        return self.tax_id == FOREIGN_BUYER_VKN or self.address.country_code != "TR"
