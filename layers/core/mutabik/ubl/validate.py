"""Checking a document the way GİB does: the UBL-TR XSD (fast, always) and GİB's schematron (XPath 2.0, Saxon).

Where the files are looked for, first found wins:
1. `$MUTABIK_GIB_DIR` (a folder holding `xsdrt/` and `schematron/`),
2. `mutabik/ubl/schemas/gib/` inside the layer (copied by `python tools/gib_schemas.py`; never committed),
3. `../shared/specs/ubl-tr` next to the repository (a development checkout with the reference data).

The schematron runs as SOURCES.md describes: lxml's ISO skeleton (iso_dsdl_include → iso_abstract_expand →
iso_svrl_for_xslt1) compiled once with saxonche, `xmlns:xs` declared on the result, and the parameter
`type=earchive` for EARSIVFATURA documents.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from mutabik.ubl.errors import Failure, SchemaMissingError, SchematronValidationError, XsdValidationError
from mutabik.ubl.xml import CBC_NS, INVOICE_NS, safe_parser

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = [
    "check_schematron",
    "check_xsd",
    "gib_dir",
    "validate_schematron",
    "validate_xsd",
]

_LAYER_COPY = Path(__file__).parent / "schemas" / "gib"
_SHARED = Path(__file__).resolve().parents[4] / ".." / "shared" / "specs" / "ubl-tr"
_XSDS = {
    "Invoice": "xsdrt/maindoc/UBL-Invoice-2.1.xsd",
    "DespatchAdvice": "xsdrt/maindoc/UBL-DespatchAdvice-2.1.xsd",
    "CreditNote": "xsdrt/maindoc/UBL-CreditNote-2.1.xsd",
    "ApplicationResponse": "xsdrt/maindoc/UBL-ApplicationResponse-2.1.xsd",
    "ReceiptAdvice": "xsdrt/maindoc/UBL-ReceiptAdvice-2.1.xsd",
}
_SCHEMATRON = "schematron/UBL-TR_Main_Schematron.xml"
_SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_SKELETON_STEPS = ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt1.xsl")


def _candidates() -> list[Path]:
    found = [Path(env)] if (env := os.environ.get("MUTABIK_GIB_DIR")) else []
    # The shared reference data keeps GİB's two packages apart; the layer copy merges them.
    return [*found, _LAYER_COPY, _SHARED]


def _locate(relative: str) -> Path:
    for base in _candidates():
        for path in (base / relative, base / "UBLTR_1.2.1_Paketi" / relative, base / "e-FaturaPaketi" / relative):
            if path.is_file():
                return path
    raise SchemaMissingError(f"GİB file {relative} not found; run `python tools/gib_schemas.py` to install it")


def gib_dir() -> Path:
    """The folder the Invoice XSD was found under (for messages and tools)."""
    return _locate(_XSDS["Invoice"]).parents[2]


@cache
def _schema(root_name: str) -> etree.XMLSchema:
    if root_name not in _XSDS:
        raise SchemaMissingError(f"no UBL-TR XSD for a {root_name} document")
    return etree.XMLSchema(etree.parse(str(_locate(_XSDS[root_name])), parser=safe_parser()))


def _tree(xml: bytes | _Element) -> _Element:
    return etree.fromstring(xml, parser=safe_parser()) if isinstance(xml, bytes) else xml


def _doctype(root: _Element) -> list[Failure]:
    # GİB documents carry no DTD; one that does may declare entities, which no parser of ours should see.
    if root.getroottree().docinfo.doctype:
        return [Failure("a UBL-TR document has no DOCTYPE (DTDs and entities are refused)", "line 1", "DOCTYPE")]
    return []


def check_xsd(xml: bytes | _Element) -> list[Failure]:
    """XSD failures of a UBL-TR document (empty when it is valid)."""
    root = _tree(xml)
    if refused := _doctype(root):
        return refused
    schema = _schema(etree.QName(root).localname)
    if schema.validate(root):
        return []
    return [Failure(e.message, f"line {e.line}", e.type_name) for e in schema.error_log]


def validate_xsd(xml: bytes | _Element) -> None:
    """Raise `XsdValidationError` unless the document is valid against GİB's UBL-TR 1.2.1 XSD."""
    failures = check_xsd(xml)
    if failures:
        raise XsdValidationError(failures)


class _Schematron:
    """GİB's schematron compiled once per process; Saxon is not thread-safe here, so calls take a lock."""

    def __init__(self) -> None:
        import lxml.isoschematron
        from saxonche import PySaxonProcessor

        self._lock = threading.Lock()
        self._processor: Any = PySaxonProcessor(license=False)
        xslt = self._processor.new_xslt30_processor()
        skeleton = Path(lxml.isoschematron.__file__).parent / "resources" / "xsl" / "iso-schematron-xslt1"
        node = self._processor.parse_xml(xml_file_name=str(_locate(_SCHEMATRON)))
        text = ""
        for step in _SKELETON_STEPS:
            text = xslt.compile_stylesheet(stylesheet_file=str(skeleton / step)).transform_to_string(xdm_node=node)
            node = self._processor.parse_xml(xml_text=text)
        # The XSLT1 skeleton does not declare the xs prefix that GİB's XPath 2.0 tests use (xs:date …).
        text = text.replace("<xsl:stylesheet ", '<xsl:stylesheet xmlns:xs="http://www.w3.org/2001/XMLSchema" ', 1)
        self._executable: Any = xslt.compile_stylesheet(stylesheet_text=text)

    def run(self, xml: bytes, *, earchive: bool) -> bytes:
        with self._lock:
            self._executable.set_parameter(
                "type", self._processor.make_string_value("earchive" if earchive else "efatura")
            )
            document = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
            return str(self._executable.transform_to_string(xdm_node=document)).encode("utf-8")


_COMPILED: _Schematron | None = None
_COMPILE_LOCK = threading.Lock()


def _schematron() -> _Schematron:
    global _COMPILED
    with _COMPILE_LOCK:
        if _COMPILED is None:
            _COMPILED = _Schematron()
        return _COMPILED


def _is_earchive(root: _Element) -> bool:
    profile = root.findtext(f"{{{CBC_NS}}}ProfileID")
    return root.tag == f"{{{INVOICE_NS}}}Invoice" and profile == "EARSIVFATURA"


def check_schematron(xml: bytes | _Element, *, earchive: bool | None = None) -> list[Failure]:
    """GİB schematron failures (empty when it passes). `earchive` defaults to "the profile is EARSIVFATURA"."""
    root = _tree(xml)
    if refused := _doctype(root):
        return refused
    # Saxon reads what lxml's safe parser already read, never the caller's bytes.
    data = etree.tostring(root, encoding="UTF-8")
    report = etree.fromstring(
        _schematron().run(data, earchive=_is_earchive(root) if earchive is None else earchive), parser=safe_parser()
    )
    failures = []
    for failed in report.iter(f"{_SVRL}failed-assert"):
        message = " ".join((failed.findtext(f"{_SVRL}text") or "").split())
        failures.append(Failure(message, failed.get("location", ""), failed.get("test", "")))
    return failures


def validate_schematron(xml: bytes | _Element, *, earchive: bool | None = None) -> None:
    """Raise `SchematronValidationError` with GİB's messages and XPaths unless the document passes."""
    failures = check_schematron(xml, earchive=earchive)
    if failures:
        raise SchematronValidationError(failures)
