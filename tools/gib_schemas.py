"""Install GİB's UBL-TR XSDs and schematron into the layer (mutabik/ubl/schemas/gib), where the code finds them.

The deployed validator needs GİB's files inside the Lambda layer; they are GİB's, so they are copied in at
build time and never committed. Sources, first found wins:

1. `../shared/specs/ubl-tr` next to the repository (the reference data of a development checkout),
2. GİB's published packages, downloaded with httpx:
   UBL-TR1.2.1_Paketi.zip (xsdrt/) and e-FaturaPaketi.zip (schematron/) from ebelge.gib.gov.tr.

Idempotent and quick: files already present with the same size are left alone.

    python tools/gib_schemas.py [--download] [--dest DIR]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "layers" / "core" / "mutabik" / "ubl" / "schemas" / "gib"
SHARED = ROOT.parent / "shared" / "specs" / "ubl-tr"
PACKAGES = {
    # GİB's own download locations (ebelge.gib.gov.tr → e-Fatura → Kılavuzlar / Paketler).
    "xsdrt": "https://ebelge.gib.gov.tr/dosyalar/kilavuzlar/UBL-TR1.2.1_Paketi.zip",
    "schematron": "https://ebelge.gib.gov.tr/dosyalar/kilavuzlar/e-FaturaPaketi.zip",
}
SHARED_FOLDERS = {
    "xsdrt": SHARED / "UBLTR_1.2.1_Paketi" / "xsdrt",
    "schematron": SHARED / "e-FaturaPaketi" / "schematron",
}
SUFFIXES = {"xsdrt": ".xsd", "schematron": ".xml"}
TIMEOUT_SECONDS = 60.0


def _copy_tree(source: Path, target: Path, suffix: str) -> int:
    copied = 0
    for path in sorted(source.rglob(f"*{suffix}")):
        out = target / path.relative_to(source)
        if out.is_file() and out.stat().st_size == path.stat().st_size:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
        copied += 1
    return copied


def _extract(data: bytes, folder: str, target: Path, suffix: str) -> int:
    """Files under any `<folder>/` inside the zip, kept relative to that folder."""
    copied = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            parts = Path(member.filename).parts
            if member.is_dir() or folder not in parts or not member.filename.endswith(suffix):
                continue
            relative = Path(*parts[parts.index(folder) + 1 :])
            if ".." in relative.parts:
                continue  # never write outside the target (zip slip)
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(member))
            copied += 1
    return copied


def _download(url: str) -> bytes:
    import httpx

    response = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=True)
    response.raise_for_status()
    if not response.content.startswith(b"PK"):
        raise RuntimeError(f"{url} did not return a zip file")
    return response.content


def install(dest: Path = DEST, *, download: bool = False) -> dict[str, int]:
    """Copy or download each folder; returns how many files were written per folder."""
    written = {}
    for folder, url in PACKAGES.items():
        target = dest / folder
        source = SHARED_FOLDERS[folder]
        if source.is_dir() and not download:
            written[folder] = _copy_tree(source, target, SUFFIXES[folder])
        elif download or not any(target.rglob(f"*{SUFFIXES[folder]}")):
            written[folder] = _extract(_download(url), folder, target, SUFFIXES[folder])
        else:
            written[folder] = 0
    if not (dest / "xsdrt" / "maindoc" / "UBL-Invoice-2.1.xsd").is_file():
        raise RuntimeError(f"UBL-Invoice-2.1.xsd missing under {dest}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST, help="where to install (default: the layer)")
    parser.add_argument("--download", action="store_true", help="fetch GİB's packages even when ../shared exists")
    args = parser.parse_args(argv)
    written = install(args.dest, download=args.download)
    summary = ", ".join(f"{folder}: {count} written" for folder, count in written.items())
    print(f"GİB schemas in {args.dest} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
