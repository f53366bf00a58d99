"""tools/gib_schemas.py: installs GİB's files into a folder, idempotently, from ../shared or from GİB's zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tools import gib_schemas


@pytest.mark.skipif(not gib_schemas.SHARED.is_dir(), reason="../shared is not next to this checkout")
def test_install_copies_from_shared_once(tmp_path: Path) -> None:
    first = gib_schemas.install(tmp_path)
    assert first["xsdrt"] >= 19
    assert first["schematron"] == 3
    assert (tmp_path / "xsdrt" / "maindoc" / "UBL-Invoice-2.1.xsd").is_file()
    assert gib_schemas.install(tmp_path) == {"xsdrt": 0, "schematron": 0}


def test_zip_members_are_extracted_below_their_folder_and_never_outside(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("UBL-TR1.2.1_Paketi/xsdrt/maindoc/UBL-Invoice-2.1.xsd", "<xsd/>")
        archive.writestr("UBL-TR1.2.1_Paketi/xsdrt/../../evil.xsd", "<evil/>")
        archive.writestr("UBL-TR1.2.1_Paketi/docs/readme.xsd", "<other/>")
    written = gib_schemas._extract(buffer.getvalue(), "xsdrt", tmp_path, ".xsd")
    assert written == 1
    assert (tmp_path / "maindoc" / "UBL-Invoice-2.1.xsd").read_text() == "<xsd/>"
    assert not (tmp_path.parent / "evil.xsd").exists()
