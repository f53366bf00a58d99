"""An HTML page a person can read for any UBL-TR invoice: parties, lines, taxes, totals and "YALNIZ … TL"."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from mutabik.model.money import round_kurus
from mutabik.tax.words import amount_in_words
from mutabik.ubl.parse import ParsedInvoice, ParsedParty, parse_invoice

__all__ = ["preview_html", "render_preview"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem;margin:0 0 .5rem}
.meta,.parties{display:flex;gap:3rem;margin-bottom:1.5rem}
.party{min-width:18rem}
table{border-collapse:collapse;width:100%;margin-bottom:1rem}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left}
td.n,th.n{text-align:right}
.totals{width:auto;margin-left:auto}
.words{font-weight:bold;margin-top:1rem}
.notes{color:#555;font-size:.9rem}
"""


def _money(value: Decimal, currency: str) -> str:
    # Turkish notation: 1.234,56 TL
    text = f"{round_kurus(value):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} {'TL' if currency == 'TRY' else escape(currency)}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def _party(title: str, who: ParsedParty) -> str:
    rows = [
        f"<strong>{escape(who.name)}</strong>",
        f"{escape(who.scheme)}: {escape(who.tax_id)}" if who.tax_id else "",
        f"Vergi Dairesi: {escape(who.tax_office)}" if who.tax_office else "",
        escape(" / ".join(filter(None, (who.district, who.city, who.country)))),
    ]
    body = "<br>".join(r for r in rows if r)
    return f'<div class="party"><h2>{escape(title)}</h2>{body}</div>'


def render_preview(invoice: ParsedInvoice) -> str:
    """The HTML page for a parsed invoice."""
    cur = invoice.currency
    lines = "".join(
        "<tr>"
        f"<td>{escape(line.number)}</td><td>{escape(line.name)}</td>"
        f'<td class="n">{_number(line.quantity)} {escape(line.unit)}</td>'
        f'<td class="n">{_money(line.unit_price, cur)}</td>'
        f'<td class="n">{_money(line.discount, cur) if line.discount else ""}</td>'
        f'<td class="n">{" ".join("%" + _number(t.percent) for t in line.taxes if t.code == "0015")}</td>'
        f'<td class="n">{_money(sum((t.amount for t in line.taxes), Decimal(0)), cur)}</td>'
        f'<td class="n">{_money(line.net, cur)}</td>'
        "</tr>"
        for line in invoice.lines
    )
    taxes = "".join(
        f"<tr><th>{escape(t.name or t.code)} %{_number(t.percent)}"
        f"{' (' + escape(t.exemption_code) + ' ' + escape(t.exemption_reason) + ')' if t.exemption_code else ''}</th>"
        f'<td class="n">{_money(t.amount, cur)}</td></tr>'
        for t in invoice.taxes
    )
    withheld = "".join(
        f"<tr><th>KDV tevkifatı {escape(t.code)} (%{_number(t.percent)})</th>"
        f'<td class="n">{_money(t.amount, cur)}</td></tr>'
        for t in invoice.withholdings
    )
    discounts = (
        f'<tr><th>Toplam İskonto</th><td class="n">{_money(invoice.allowance_total, cur)}</td></tr>'
        if invoice.allowance_total
        else ""
    )
    rate = f"<div>Kur: 1 {escape(cur)} = {_number(invoice.exchange_rate)} TL</div>" if invoice.exchange_rate else ""
    returned = "".join(f"<div>İade edilen fatura: {escape(n)}</div>" for n in invoice.returned_invoices)
    buyer = _party("Alıcı (yurt dışı)", invoice.buyer) if invoice.buyer else ""
    notes = "".join(f"<div>{escape(n)}</div>" for n in invoice.notes if not n.startswith("YALNIZ"))
    return f"""<!DOCTYPE html>
<html lang="tr"><head><meta charset="utf-8"><title>Fatura {escape(invoice.number)}</title>
<style>{_STYLE}</style></head><body>
<h1>{escape(invoice.profile)} · {escape(invoice.invoice_type)}</h1>
<div class="meta"><div>Fatura No: <strong>{escape(invoice.number)}</strong></div>
<div>Tarih: {invoice.issue_date.strftime("%d.%m.%Y")}</div><div>ETTN: {escape(invoice.uuid)}</div>{rate}{returned}</div>
<div class="parties">{_party("Satıcı", invoice.supplier)}{_party("Alıcı", invoice.customer)}{buyer}</div>
<table><thead><tr><th>Sıra</th><th>Mal / Hizmet</th><th class="n">Miktar</th><th class="n">Birim Fiyat</th>
<th class="n">İskonto</th><th class="n">KDV Oranı</th><th class="n">KDV</th><th class="n">Tutar</th></tr></thead>
<tbody>{lines}</tbody></table>
<table class="totals">
<tr><th>Mal / Hizmet Toplam Tutarı</th><td class="n">{_money(invoice.line_extension, cur)}</td></tr>
{discounts}{taxes}{withheld}
<tr><th>Vergiler Dahil Toplam Tutar</th><td class="n">{_money(invoice.tax_inclusive, cur)}</td></tr>
<tr><th>Ödenecek Tutar</th><td class="n"><strong>{_money(invoice.payable, cur)}</strong></td></tr>
</table>
<div class="words">{escape(amount_in_words(invoice.payable, cur))}</div>
<div class="notes">{notes}</div>
</body></html>
"""


def preview_html(xml: bytes) -> str:
    """Parse an invoice's XML and render it as one self-contained HTML page."""
    return render_preview(parse_invoice(xml))
