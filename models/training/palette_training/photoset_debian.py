"""Fetch and unpack Debian packages (never install them) and read their licences."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UnpackedPackage:
    name: str
    version: str
    root: Path  # the dpkg-deb -x tree


def find_deb(cache: Path, package: str) -> Path | None:
    # apt-get download names files <pkg>_<version>_<arch>.deb with ':' escaped as %3a.
    matches = sorted(cache.glob(f"{package}_*.deb"))
    return matches[-1] if matches else None


def download(cache: Path, package: str) -> Path:
    """``apt-get download`` into ``cache`` unless a .deb for the package is already there."""
    cache.mkdir(parents=True, exist_ok=True)
    existing = find_deb(cache, package)
    if existing is not None:
        return existing
    subprocess.run(["apt-get", "download", package], cwd=cache, check=True, capture_output=True)
    deb = find_deb(cache, package)
    if deb is None:
        raise FileNotFoundError(f"apt-get download {package} produced no .deb in {cache}")
    return deb


def deb_version(deb: Path) -> str:
    out = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def unpack(deb: Path, scratch: Path, package: str) -> UnpackedPackage:
    """``dpkg-deb -x`` into ``scratch/<package>``; reuse the tree if this .deb was unpacked before."""
    root = scratch / package
    stamp = scratch / f"{package}.unpacked"
    if not (root.is_dir() and stamp.is_file() and stamp.read_text() == deb.name):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        stamp.write_text(deb.name)
    return UnpackedPackage(package, deb_version(deb), root)


# --- licences from debian/copyright


@dataclass(frozen=True)
class FilesStanza:
    patterns: tuple[str, ...]
    licence: str


@dataclass(frozen=True)
class Copyright:
    stanzas: tuple[FilesStanza, ...]  # in file order: the last match wins (DEP-5)
    overall: str


def _paragraphs(text: str) -> list[dict[str, str]]:
    """deb822 paragraphs as {field: value}; continuation lines are joined with newlines."""
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    field = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, field = {}, None
        elif line[0] in " \t" and field is not None:
            current[field] += "\n" + line.strip()
        elif ":" in line:
            field, value = line.split(":", 1)
            field = field.strip().lower()
            current[field] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def _licence_name(value: str) -> str:
    return value.split("\n", 1)[0].strip()


def parse_copyright(text: str) -> Copyright:
    """Parse a machine-readable (DEP-5) copyright file, or guess from free text."""
    paragraphs = _paragraphs(text)
    is_dep5 = (
        bool(paragraphs)
        and "format" in paragraphs[0]
        and ("copyright-format" in paragraphs[0]["format"] or "dep5" in paragraphs[0]["format"])
    )
    if not is_dep5:
        return Copyright((), guess_licence(text))
    stanzas = tuple(
        FilesStanza(tuple(p["files"].split()), _licence_name(p["license"]))
        for p in paragraphs
        if "files" in p and "license" in p
    )
    header = _licence_name(paragraphs[0].get("license", ""))
    catch_all = [s.licence for s in stanzas if "*" in s.patterns]
    overall = header or (catch_all[0] if catch_all else (stanzas[0].licence if stanzas else "unknown"))
    return Copyright(stanzas, overall)


def guess_licence(text: str) -> str:
    """Best-effort licence name for an old free-form copyright file."""
    flat = " ".join(text.split())
    for pattern, name in (
        (r"GNU (?:Lesser|Library) General Public License", "LGPL"),
        (r"GNU General Public License", "GPL"),
        (r"Creative Commons", "CC"),
        (r"BSD", "BSD"),
    ):
        if re.search(pattern, flat):
            version = re.search(pattern + r".{0,80}?version (\d(?:\.\d)?)", flat)
            later = version is not None and "any later version" in flat[version.end() : version.end() + 80]
            if version is None:
                return name
            return f"{name}-{version.group(1)}{'+' if later else ''}"
    return "unknown"


def _path_suffixes(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[i:]) for i in range(len(parts))]


def licence_for(copyright: Copyright, paths: list[str]) -> str:
    """Licence of the last Files: stanza matching any of ``paths``.

    Stanza patterns are relative to the *source* tree, while we only know
    installed paths (and resource names inside .rcc bundles), so a pattern
    matches when it matches any trailing part of a path: ``nature/Aqua.jpg``
    matches ``usr/share/backgrounds/mate/nature/Aqua.jpg``.  As in DEP-5, ``*``
    also crosses ``/``, and later stanzas override earlier ones.
    """
    best = -1
    for index, stanza in enumerate(copyright.stanzas):
        for pattern in stanza.patterns:
            if any(fnmatch.fnmatchcase(s, pattern) for p in paths for s in _path_suffixes(p)):
                best = index
    return copyright.stanzas[best].licence if best >= 0 else copyright.overall


def read_copyright(pkg: UnpackedPackage) -> Copyright:
    path = pkg.root / "usr/share/doc" / pkg.name / "copyright"
    if not path.is_file():
        return Copyright((), "unknown")
    return parse_copyright(path.read_text(errors="replace"))
