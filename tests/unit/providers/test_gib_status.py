"""GİB's envelope status codes as the integrator adapters read them, how an invoice is packaged, and how an
integrator's answer is read."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from mutabik.model.document import DocumentStatus
from mutabik.providers import _gib
from mutabik.providers.exceptions import PermanentProviderError, WrongProfileError

S = DocumentStatus
CODELIST = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "specs"
    / "ubl-tr"
    / "e-FaturaPaketi"
    / "schematron"
    / "UBL-TR_Codelist.xml"
)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1000, S.SUBMITTED),  # ZARF KUYRUĞA EKLENDİ
        (1100, S.SUBMITTED),  # ZARF İŞLENİYOR
        (1200, S.SUBMITTED),  # ZARF BAŞARIYLA İŞLENDİ: on its way to the buyer
        (1210, S.SUBMITTED),  # not delivered yet; GİB retries
        (1220, S.SUBMITTED),  # no system response from the buyer yet
        (1300, S.ACCEPTED),  # BAŞARIYLA TAMAMLANDI
        (1150, S.REJECTED),  # schematron
        (1160, S.REJECTED),  # XSD
        (1161, S.REJECTED),
        (1162, S.REJECTED),
        (1172, S.REJECTED),  # POSTA KUTUSU YETKİSİ YOK
        (1195, S.REJECTED),
        (1215, S.REJECTED),  # GİB gave up delivering
        (1230, S.REJECTED),  # the buyer's system refused it
        ("1300", S.ACCEPTED),  # integrators send strings
        (None, S.SUBMITTED),  # no GİB code yet: still at the integrator
        ("", S.SUBMITTED),
        (0, S.SUBMITTED),
    ],
)
def test_each_gib_code_means_what_gib_says(code: int | str | None, status: DocumentStatus) -> None:
    assert _gib.outcome_for(code).status is status


def test_a_rejection_carries_gibs_words_and_the_integrators_detail() -> None:
    outcome = _gib.outcome_for(1150, "Geçersiz unitCode niteliği : 'XYZ'.", refs={"channel": "efatura"})

    assert outcome.status is S.REJECTED
    assert outcome.error == "GİB 1150 SCHEMATRON KONTROL SONUCU HATALI: Geçersiz unitCode niteliği : 'XYZ'."
    assert outcome.provider_refs == {"channel": "efatura"}


def test_an_accepted_or_pending_document_has_no_error() -> None:
    assert _gib.outcome_for(1300, "BAŞARIYLA TAMAMLANDI").error == ""
    assert _gib.outcome_for(1100, "ZARF İŞLENİYOR").error == ""


def test_1163_is_a_duplicate_and_never_silently_accepted() -> None:
    """The adapter follows 1163 to the original when the ETTN is ours; unconfirmed, it is a refusal."""
    assert _gib.verdict(1163) is _gib.Verdict.DUPLICATE
    outcome = _gib.outcome_for(1163)
    assert outcome.status is S.REJECTED
    assert "DAHA ÖNCE KAYITLI" in outcome.error


@pytest.mark.parametrize(("code", "status"), [(1199, S.REJECTED), (1250, S.SUBMITTED), (2005, S.REJECTED)])
def test_codes_gib_may_add_fall_into_their_range(code: int, status: DocumentStatus) -> None:
    assert _gib.outcome_for(code).status is status


def test_the_buyers_red_answer_rejects_a_delivered_commercial_invoice() -> None:
    assert _gib.outcome_for(1300, "fiyat hatalı", application_response="RED").status is S.REJECTED
    assert "RED" in _gib.outcome_for(1300, application_response="RED").error
    assert _gib.outcome_for(1300, application_response="KABUL").status is S.ACCEPTED


@pytest.mark.skipif(not CODELIST.is_file(), reason="GİB's code list (../shared/specs) is not here")
def test_every_system_response_code_of_gibs_codelist_is_in_the_table() -> None:
    """GİB's schematron lists the codes a system response may carry; a new one must be classified here."""
    text = CODELIST.read_text(encoding="utf-8")
    listed = re.search(r'name="AppResponseCodeType" value="([^"]+)"', text)
    assert listed is not None
    codes = {int(code) for code in listed.group(1).strip("',").split(",")}
    assert codes - set(_gib.GIB_CODES) == set()


@pytest.mark.parametrize(
    ("words", "registered"),
    [
        ("Alıcı e-Fatura mükellefidir; e-Arşiv faturası düzenlenemez, e-Fatura olarak gönderiniz.", True),
        ("ALICI E-FATURA KULLANICISIDIR", True),
        ("the receiver is an e-invoice user, send an e-Fatura", True),
        ("Alıcı e-Fatura mükellefi değildir; e-Arşiv faturası düzenleyiniz.", False),
        ("Receiver is not an e-invoice user", False),
        ("Alıcı kayıtlı kullanıcı değildir", False),
        ("Geçersiz unitCode niteliği : 'XYZ'", None),
        ("1163 GÖNDERİLEN ZARF SİSTEMDE DAHA ÖNCE KAYITLI OLAN BİR FATURAYI İÇERMEKTEDİR", None),
    ],
)
def test_a_refusal_about_the_profile_says_which_way_it_went_wrong(words: str, registered: bool | None) -> None:
    assert _gib.profile_refusal(words) is registered
    error = _gib.refusal(words, "sovos")
    if registered is None:
        assert type(error) is PermanentProviderError
    else:
        assert isinstance(error, WrongProfileError)
        assert error.registered is registered
    assert words in str(error)


def test_an_invoice_zips_to_the_same_bytes_every_time_under_its_ettn() -> None:
    """A retry must send exactly what the first attempt sent: the same zip, the same MD5."""
    xml = b"<Invoice>" + b"x" * 5000 + b"</Invoice>"
    first = _gib.zip_document(xml, "D122CBEF-E252-54C3-AB93-ED85710A335E.xml")

    assert first == _gib.zip_document(xml, "D122CBEF-E252-54C3-AB93-ED85710A335E.xml")
    assert len(first) < len(xml)  # deflated
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["D122CBEF-E252-54C3-AB93-ED85710A335E.xml"]
    assert _gib.unzip_document(first) == ("D122CBEF-E252-54C3-AB93-ED85710A335E.xml", xml)
    assert _gib.md5_hex(first) == hashlib.md5(first, usedforsecurity=False).hexdigest()


def _zip(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (_zip(("a.xml", b"<a/>"), ("b.xml", b"<b/>")), "2 files"),
        (_zip(("../a.xml", b"<a/>")), "has a path"),
        (_zip(("bomb.xml", b"\0" * 2_000_000)), "more than 1000"),
        (b"<Invoice/>", "not a zip"),
    ],
)
def test_a_zip_that_is_not_one_small_file_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        _gib.unzip_document(data, max_bytes=1000)


def test_base64_is_read_strictly() -> None:
    assert _gib.b64decode(" PGEv\nPg== ") == b"<a/>"
    with pytest.raises(ValueError, match="not base64"):
        _gib.b64decode("<a/>")


def test_an_integrators_answer_with_a_doctype_is_refused_unread() -> None:
    """Answers come from the network: no DTD, no entity expansion, no external reference (XXE)."""
    from lxml import etree
    from mutabik.providers import _soap

    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><belgeOid>&x;</belgeOid></r>'
    )
    with pytest.raises(etree.XMLSyntaxError):
        _soap.parse(hostile)
    assert _soap.text(_soap.parse(b"<r><a><belgeOid> 42 </belgeOid></a></r>"), "belgeOid") == "42"
