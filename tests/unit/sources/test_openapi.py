"""docs/openapi.yaml: a valid OpenAPI 3.1 document, generated from the code and up to date with it."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import yaml
from mutabik.sources import available_sources, get_source
from openapi_spec_validator import validate

from ._support import ROOT

DOCUMENT = ROOT / "docs" / "openapi.yaml"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_openapi", ROOT / "tools" / "make_openapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


def test_document_is_valid_openapi_3_1() -> None:
    document = _document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_document_is_up_to_date_with_the_code() -> None:
    assert _tool().render() == DOCUMENT.read_text(), "run tools/make_openapi.py"


def test_source_enum_is_every_http_sender() -> None:
    operation = _document()["paths"]["/v1/webhooks/{source}/{tenant}"]
    [source] = operation["parameters"]
    http = {name for name in available_sources() if get_source(name).http}
    assert set(source["schema"]["enum"]) == http
    assert "amazon" not in http


def test_responses_are_the_documented_ones_and_never_5xx() -> None:
    for path in _document()["paths"].values():
        for method in ("post", "put"):
            if method in path:
                assert set(path[method]["responses"]) == {"200", "202", "401", "404", "413", "422", "429"}


def test_error_body_shape() -> None:
    error = _document()["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "path", "request_id"]


def test_event_path_senders_are_those_that_call_one_path_per_event() -> None:
    operation = _document()["paths"]["/v1/webhooks/{source}/{tenant}/{event}"]
    source = next(p for p in operation["parameters"] if p["name"] == "source")
    assert source["schema"]["enum"] == sorted(n for n in available_sources() if get_source(n).event_paths)
    assert source["schema"]["enum"] == ["hepsiburada"]
    assert set(operation) >= {"post", "put"}
