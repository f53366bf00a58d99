"""SOAP 1.1 plumbing the GİB integrators share: envelopes written with lxml, answers read with a safe parser,
faults turned into what the pusher does next.

Why lxml envelopes and not zeep: none of the three integrators publishes every service we call as a WSDL we
could ship (Sovos publishes its e-Fatura WSDL, not its e-Arşiv one; QNB's and İzibiz's live behind their
test hosts), and "one approach per integrator" rules out zeep for half of one. Each adapter writes its
few operations as plain document/literal bodies, which is also what their own sample clients do:

- QNB eFinans: WS-Security UsernameToken in the header, `ser:` bodies in
  `http://service.connector.uut.cs.com.tr/` (e-Fatura) and `http://service.earsiv.uut.cs.com.tr/` (e-Arşiv);
- Sovos (FIT): HTTP Basic, `SOAPAction` = operation name, `http:/fitcons.com/eInvoice/` (sic, one slash;
  github.com/sovos-foriba-rd/cloud_einvoice_sample_api_client_java, ClientEInvoiceServices-2.1.wsdl);
- İzibiz: `REQUEST_HEADER/SESSION_ID` in the body, empty `SOAPAction`, `http://schemas.i2i.com/ei/wsdl`.

Answers are parsed with `resolve_entities=False, no_network=True` and a DOCTYPE is refused: an answer is
data from the network. Children are looked up by local name, because the integrators qualify them
inconsistently (root qualified, children not).
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from mutabik.providers import _http
from mutabik.providers.base import ProviderContext
from mutabik.providers.exceptions import RetryableProviderError

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = [
    "SOAP_NS",
    "WSSE_NS",
    "SoapClient",
    "SoapFaultError",
    "child",
    "children",
    "envelope",
    "is_transient",
    "parse",
    "text",
    "wsse_header",
]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_PASSWORD_TEXT = (  # the token type's URI, not a password
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"  # noqa: S105
)
#: Words that say "not now" in the integrators' faults: a busy or restarting service, a timeout behind it.
_TRANSIENT = re.compile(
    r"busy|meşgul|mesgul|timeout|timed out|zaman aşımı|zaman asimi|try again|tekrar deneyin|"
    r"temporar|geçici|gecici|unavailable|kullanılamıyor|bakım|maintenance|too many|connection reset",
    re.IGNORECASE,
)


class SoapFaultError(Exception):
    """A SOAP Fault, or an integrator's error element in an HTTP 200 answer: its code and its own words."""

    def __init__(self, code: str, message: str, *, status_code: int | None = None, detail: str = "") -> None:
        self.code = code
        self.message = message
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"{code}: {message}" if code else message)


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def parse(data: bytes) -> _Element:
    """An XML answer, parsed safely; a DOCTYPE (entities, external references) is refused."""
    root = etree.fromstring(data, parser=_safe_parser())
    if root.getroottree().docinfo.doctype:
        raise etree.XMLSyntaxError("a DOCTYPE in a SOAP message is refused", 0, 1, 1)
    return root


def envelope(body: _Element, header: _Element | None = None) -> bytes:
    """A SOAP 1.1 envelope around one body element (and an optional header element)."""
    root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soapenv": SOAP_NS})
    head = etree.SubElement(root, f"{{{SOAP_NS}}}Header")
    if header is not None:
        head.append(header)
    etree.SubElement(root, f"{{{SOAP_NS}}}Body").append(body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def wsse_header(username: str, password: str) -> _Element:
    """WS-Security UsernameToken with a plain-text password (over TLS), as QNB's connector expects."""
    security = etree.Element(f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS})
    token = etree.SubElement(security, f"{{{WSSE_NS}}}UsernameToken")
    etree.SubElement(token, f"{{{WSSE_NS}}}Username").text = username
    password_element = etree.SubElement(token, f"{{{WSSE_NS}}}Password", Type=_PASSWORD_TEXT)
    password_element.text = password
    return security


def _local(node: _Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def children(node: _Element | None, name: str) -> Iterator[_Element]:
    """Descendants named `name` (any namespace), in document order."""
    if node is None:
        return iter(())
    return (n for n in node.iter() if n is not node and _local(n) == name)


def child(node: _Element | None, name: str) -> _Element | None:
    """The first descendant named `name` (any namespace), or None."""
    return next(children(node, name), None)


def text(node: _Element | None, name: str, default: str = "") -> str:
    """The stripped text of the first descendant named `name`, or `default`."""
    found = child(node, name)
    return (found.text or "").strip() if found is not None else default


def is_transient(words: str) -> bool:
    """Whether an integrator's words say "try later" (busy, timeout) rather than "not this document"."""
    return bool(_TRANSIENT.search(words))


@dataclass
class SoapClient:
    """One integrator's HTTP client: posts envelopes, returns the body's first element or raises.

    Network failures, timeouts and 5xx answers without a readable fault become RetryableProviderError (the
    pusher asks `find` before sending again); a Fault becomes SoapFaultError for the adapter to read."""

    context: ProviderContext
    provider: str
    default_url: str
    auth: httpx.Auth | tuple[str, str] | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            # A tenant may shorten the timeout (options.timeout_seconds), never lengthen it past the context's.
            option = self.context.settings.options.get("timeout_seconds", "")
            timeout = self.context.timeout_seconds
            if option:
                with contextlib.suppress(ValueError):
                    timeout = min(timeout, max(0.1, float(option)))
            context = ProviderContext(
                tenant=self.context.tenant,
                settings=self.context.settings,
                secrets=self.context.secrets,
                blobs=self.context.blobs,
                cache=self.context.cache,
                timeout_seconds=timeout,
            )
            kwargs: dict[str, Any] = {"auth": self.auth} if self.auth is not None else {}
            self._client = _http.new_client(context, default_url=self.default_url, **kwargs)
            weakref.finalize(self, self._client.close)  # adapters live for one push; their sockets go with them
        return self._client

    def call(self, path: str, body: _Element, *, action: str = "", header: _Element | None = None) -> _Element:
        """Post `body` to `path` (relative to the base URL); the answer's first body element."""
        response = _http.request(
            self.http,
            self.provider,
            "POST",
            path,
            content=envelope(body, header),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'},
        )
        try:
            root = parse(response.content) if response.content else None
        except etree.XMLSyntaxError:
            root = None
        if root is not None:
            fault = child(root, "Fault")
            if fault is not None and etree.QName(fault).namespace == SOAP_NS:
                raise SoapFaultError(
                    text(fault, "faultcode"),
                    text(fault, "faultstring"),
                    status_code=response.status_code,
                    detail=" ".join(" ".join(" ".join(part.itertext()).split()) for part in children(fault, "detail")),
                )
        if not response.is_success:
            _http.classify(response, self.provider, lambda r: r.text[:300])
        if root is None:  # a 2xx we cannot read: did it arrive? The pusher asks `find` before resending.
            raise RetryableProviderError(
                f"{self.provider} sent an answer that is not XML", provider=self.provider, status_code=200
            )
        body_element = child(root, "Body")
        first = next((n for n in body_element if isinstance(n.tag, str)), None) if body_element is not None else None
        if first is None:
            raise RetryableProviderError(f"{self.provider} sent an empty SOAP body", provider=self.provider)
        return first

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
