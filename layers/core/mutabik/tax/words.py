"""An amount in Turkish words, as printed under an invoice's total: "YALNIZ BİN İKİ YÜZ TL ELLİ KURUŞ"."""

from __future__ import annotations

from decimal import Decimal

from mutabik.model.money import round_kurus

__all__ = ["amount_in_words", "number_in_words"]

_ONES = ("", "BİR", "İKİ", "ÜÇ", "DÖRT", "BEŞ", "ALTI", "YEDİ", "SEKİZ", "DOKUZ")
_TENS = ("", "ON", "YİRMİ", "OTUZ", "KIRK", "ELLİ", "ALTMIŞ", "YETMİŞ", "SEKSEN", "DOKSAN")
_GROUPS = ("", "BİN", "MİLYON", "MİLYAR", "TRİLYON", "KATRİLYON")
#: What a currency is called in words and what its hundredth is called; others print their ISO code.
_CURRENCY_WORDS = {
    "TRY": ("TL", "KURUŞ"),
    "EUR": ("EURO", "SENT"),
    "USD": ("DOLAR", "SENT"),
    "GBP": ("STERLİN", "PENİ"),
}


def _hundreds(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        # Turkish says "YÜZ", never "BİR YÜZ".
        words += ([_ONES[hundreds]] if hundreds > 1 else []) + ["YÜZ"]
    tens, ones = divmod(rest, 10)
    words += [w for w in (_TENS[tens], _ONES[ones]) if w]
    return words


def number_in_words(n: int) -> str:
    """A non-negative whole number in Turkish words, upper case, words separated by spaces."""
    if n < 0:
        raise ValueError("only non-negative numbers are written in words")
    if n == 0:
        return "SIFIR"
    words: list[str] = []
    group = 0
    while n:
        n, chunk = divmod(n, 1000)
        if chunk:
            if group >= len(_GROUPS):
                raise ValueError("number too large to write in words")
            # Turkish says "BİN", never "BİR BİN"; other groups keep "BİR" ("BİR MİLYON").
            part = [] if (group == 1 and chunk == 1) else _hundreds(chunk)
            words = part + ([_GROUPS[group]] if group else []) + words
        group += 1
    return " ".join(words)


def amount_in_words(amount: Decimal, currency: str = "TRY") -> str:
    """ "YALNIZ …": the rounded amount in words, whole units then hundredths, as Turkish invoices print it."""
    value = round_kurus(abs(amount))
    whole = int(value)
    cents = int((value - whole) * 100)
    unit, hundredth = _CURRENCY_WORDS.get(currency, (currency, "/100"))
    text = f"YALNIZ {number_in_words(whole)} {unit}"
    if cents:
        text += f" {number_in_words(cents)} {hundredth}" if hundredth != "/100" else f" {cents}/100"
    return text
