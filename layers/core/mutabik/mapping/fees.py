"""Marketplace commission and PSP fees, as journal entries — never as lines of the seller's sales invoice.

A marketplace (Trendyol, Hepsiburada, Amazon) or PSP (Stripe, iyzico) invoices its commission *to* the seller;
the seller's invoice to the buyer carries what the buyer paid. So a fee is either left to the accountant, who
books the marketplace's commission invoice when it arrives (`ignore`, the default), or booked by mutabik as a
journal entry (`journal`) against the accounts of the tenant's mapping:

    payout (settlement), `journal`:  102 Bankalar        B  net        payout (settlement), `ignore`:
                                     320 Satıcılar       B  fees         102 Bankalar      B  net
                                     120 Alıcılar        A  gross        120 Alıcılar      A  net

    payment with a fee, `journal`:   320 Satıcılar       B  fee      (`ignore`: nothing)
                                     120 Alıcılar        A  fee

With 320 as the fee account, the commission invoice the accountant books (760 + 191 / 320) is cleared by these
entries and the expense is counted once; a tenant whose marketplace sends no invoice sets 760 instead.
"""

from __future__ import annotations

from decimal import Decimal

from mutabik.mapping.config import CommissionMapping, CommissionTreatment
from mutabik.mapping.journal import JournalEntry, journal_entry
from mutabik.model.commerce import Payment, Payout

__all__ = ["payment_fee_entry", "payout_entry"]

_ZERO = Decimal(0)


def payout_entry(payout: Payout, commission: CommissionMapping) -> JournalEntry | None:
    """The settlement entry of a payout: the bank receives the net, the marketplace's receivable is cleared.
    None for a payout of nothing."""
    net = payout.amount.amount
    fees = payout.fees.amount if payout.fees is not None else None
    if not net and not (commission.treatment is CommissionTreatment.JOURNAL and fees):
        return None
    lines = [(commission.bank_account, net, _ZERO, f"{payout.source} ödemesi {payout.source_ref}")]
    if commission.treatment is CommissionTreatment.JOURNAL and fees:
        lines.append((commission.fee_account, fees, _ZERO, f"{payout.source} komisyon ve hizmet bedelleri"))
        lines.append((commission.receivable_account, _ZERO, net + fees, f"{payout.source} alacağı kapanışı"))
    else:
        lines.append((commission.receivable_account, _ZERO, net, f"{payout.source} alacağı kapanışı"))
    return journal_entry(
        on=payout.paid_at.date(),
        description=f"{payout.source} hesap kesimi {payout.source_ref}",
        currency=payout.amount.currency,
        reference=f"{payout.source}:{payout.source_ref}",
        lines=lines,
    )


def payment_fee_entry(payment: Payment, commission: CommissionMapping) -> JournalEntry | None:
    """The fee a PSP kept from one payment, when the tenant books fees; None otherwise or when there is none."""
    if commission.treatment is not CommissionTreatment.JOURNAL or payment.fee is None or not payment.fee.amount:
        return None
    fee = payment.fee.amount
    text = f"{payment.source} işlem ücreti {payment.source_ref}"
    return journal_entry(
        on=payment.captured_at.date(),
        description=text,
        currency=payment.fee.currency,
        reference=f"{payment.source}:{payment.source_ref}:fee",
        lines=[(commission.fee_account, fee, _ZERO, text), (commission.receivable_account, _ZERO, fee, text)],
    )
