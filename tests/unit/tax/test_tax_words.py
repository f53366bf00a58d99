"""Amounts in Turkish words, as printed under an invoice's total."""

from __future__ import annotations

from decimal import Decimal

import pytest
from mutabik.tax import amount_in_words, number_in_words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "SIFIR"),
        (1, "BİR"),
        (10, "ON"),
        (100, "YÜZ"),
        (101, "YÜZ BİR"),
        (1000, "BİN"),
        (1001, "BİN BİR"),
        (2000, "İKİ BİN"),
        (11_111, "ON BİR BİN YÜZ ON BİR"),
        (100_000, "YÜZ BİN"),
        (1_000_000, "BİR MİLYON"),
        (2_500_300_017, "İKİ MİLYAR BEŞ YÜZ MİLYON ÜÇ YÜZ BİN ON YEDİ"),
    ],
)
def test_numbers(number: int, words: str) -> None:
    assert number_in_words(number) == words


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [
        ("1234.50", "TRY", "YALNIZ BİN İKİ YÜZ OTUZ DÖRT TL ELLİ KURUŞ"),
        ("200", "TRY", "YALNIZ İKİ YÜZ TL"),
        ("0.99", "TRY", "YALNIZ SIFIR TL DOKSAN DOKUZ KURUŞ"),
        ("0.995", "TRY", "YALNIZ BİR TL"),
        ("12.30", "EUR", "YALNIZ ON İKİ EURO OTUZ SENT"),
        ("12.30", "CHF", "YALNIZ ON İKİ CHF 30/100"),
    ],
)
def test_amounts(amount: str, currency: str, words: str) -> None:
    assert amount_in_words(Decimal(amount), currency) == words


def test_negative_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        number_in_words(-1)
