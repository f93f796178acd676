"""Build the real-folder benchmark's documents from Debian documentation packages.

A person's documentation folder is mixed: HTML chapters, the same book again as one PDF
and as plain text, a few pages someone saved as Word or Markdown, English next to a
translation, stylesheets and pictures nobody reads. This script makes such a folder from
three Debian packages the tests do not use, so anyone can rebuild the same folder:

- ``debian-handbook``: The Debian Administrator's Handbook in English (en-US) and in
  Simplified Chinese (zh-CN) as HTML chapters, plus the whole English book as one PDF,
  the whole Chinese book as one TXT (the translation is partial: untranslated paragraphs
  stay English, as in the package), some chapters of both as DOCX, PDF and EPUB;
- ``git-doc``: the manual pages of git's everyday commands and its guides as HTML, the
  guides also as their AsciiDoc ``.txt`` sources (the same text twice), the user manual
  also as PDF, the howtos, a few pages as Markdown and reST;
- ``sqlite3-doc``: SQLite's SQL reference and main documentation pages as HTML, a few pages
  also as Markdown (one with its syntax diagrams inlined as base64 images, as pandoc
  writes them: a real folder's junk), DOCX and PDF.

Conversions: pandoc (HTML → DOCX/Markdown/reST/plain text/EPUB) and LibreOffice headless
(HTML → PDF). Needed: ``apt-get install -y pandoc libreoffice-writer-nogui
fonts-wqy-microhei`` (the Chinese PDF needs a CJK font). The same package versions give the
same folder: file lists and texts are fixed, archive and PDF timestamps are pinned
(``SOURCE_DATE_EPOCH``, PDF dates, IDs and checksums rewritten, e-book zip entries
redated), every mtime is set to that epoch. One thing is not pinned: LibreOffice may lay a
wide table out differently from one run to the next (the same words, other line breaks),
so a rebuilt PDF of a page with tables can differ in bytes.
The versions used are written to ``<out>.manifest.json`` (beside the folder, so Kura does
not index it) with the format counts, bytes and every file; ``--summary`` also writes the
counts without the file list (``benchmarks/data/real_folder_manifest.json``).

    python benchmarks/real_folder_build.py --out /work/bench/real_folder --work /work/bench
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

PACKAGES = ("debian-handbook", "git-doc", "sqlite3-doc")
CONVERTERS = ("pandoc", "libreoffice-writer-nogui", "fonts-wqy-microhei")
# 2024-01-01 00:00:00 UTC: every file's mtime and every embedded date.
EPOCH = 1704067200
SUMMARY = Path(__file__).resolve().parent / "data" / "real_folder_manifest.json"

DOC = Path("usr/share/doc")
HANDBOOK = DOC / "debian-handbook/html"
GIT = DOC / "git-doc"
SQLITE = DOC / "sqlite3"

# Chapters saved again as Word files, PDFs, an e-book: as someone who printed or shared
# a few of them would have.
HANDBOOK_DOCX = {
    "en-US": ("apt.html", "sect.apt-get.html", "sect.config-bootloader.html",
              "sect.backup.html"),
    "zh-CN": ("packaging-system.html", "sect.apt-get.html", "sect.creating-accounts.html",
              "sect.firewall-packet-filtering.html"),
}
HANDBOOK_PDF_ZH = ("basic-configuration.html", "sect.config-bootloader.html",
                   "sect.rights-management.html", "sect.ldap-directory.html")
HANDBOOK_EPUB_EN = ("security.html", "sect.firewall-packet-filtering.html",
                    "sect.apparmor.html", "sect.selinux.html")
GIT_MARKDOWN = ("gitfaq.html", "gittutorial.html", "gitworkflows.html")
GIT_RST = ("git-bisect.html", "git-rebase.html", "gitignore.html")
SQLITE_MARKDOWN = ("datatype3.html", "wal.html", "foreignkeys.html", "lang_upsert.html")
SQLITE_DOCX = ("json1.html", "pragma.html", "autoinc.html")
SQLITE_PDF = ("fileformat2.html", "fts5.html", "isolation.html")
# The SQL language pages (lang_*.html: big files, mostly SVG syntax diagrams) and these.
SQLITE_PAGES = (
    "about", "atomiccommit", "autoinc", "backup", "cli", "datatype3", "expridx", "faq",
    "features", "fileformat2", "foreignkeys", "fts5", "gencol", "howtocorrupt", "index",
    "inmemorydb", "isolation", "json1", "limits", "lockingv3", "optoverview", "partialindex",
    "pragma", "queryplanner", "quirks", "rtree", "sharedcache", "stricttables", "tempfiles",
    "threadsafe", "uri", "vtab", "wal", "whentouse", "windowfunctions", "withoutrowid",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/work/bench/real_folder"))
    parser.add_argument("--work", type=Path, default=Path("/work/bench"),
                        help="where the .deb files are downloaded (debs/) and unpacked (pkgs/)")
    parser.add_argument("--summary", type=Path, nargs="?", const=SUMMARY, default=None,
                        help=f"also write the counts without the file list (default {SUMMARY})")
    args = parser.parse_args(argv)
    check_tools()
    versions = fetch_packages(args.work / "debs", args.work / "pkgs")
    build(args.work / "pkgs", args.out)
    manifest = write_manifest(args.out, versions)
    if args.summary:
        summary = {key: value for key, value in manifest.items() if key != "listing"}
        args.summary.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    print_summary(manifest)
    return 0


def check_tools() -> None:
    missing = [tool for tool in ("pandoc", "soffice", "apt-get", "dpkg-deb")
               if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install -y {' '.join(CONVERTERS)}")


def fetch_packages(debs: Path, pkgs: Path) -> dict[str, str]:
    """Download (once) and unpack the packages; their versions, by name."""
    debs.mkdir(parents=True, exist_ok=True)
    versions: dict[str, str] = {}
    for package in PACKAGES:
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
            found = sorted(debs.glob(f"{package}_*.deb"))
        deb = found[-1]
        versions[package] = subprocess.run(
            ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True,
            text=True).stdout.strip()
        subprocess.run(["dpkg-deb", "-x", str(deb), str(pkgs)], check=True)
    for tool in CONVERTERS:
        result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", tool],
                                capture_output=True, text=True)
        versions[tool] = result.stdout.strip() or "not installed"
    return versions


def build(pkgs: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="real-folder-") as scratch_dir:
        scratch = Path(scratch_dir)
        build_handbook(pkgs / HANDBOOK, out / "debian-handbook", scratch)
        build_git(pkgs / GIT, out / "git", scratch)
        build_sqlite(pkgs / SQLITE, out / "sqlite", scratch)
    pin_times(out)


# --- The Debian Administrator's Handbook -------------------------------------------------

def build_handbook(source: Path, out: Path, scratch: Path) -> None:
    for language in ("en-US", "zh-CN"):
        book = source / language
        target = out / "html" / language
        copy_files(book, target, sorted(p.name for p in book.glob("*.html")))
        shutil.copytree(book / "Common_Content", target / "Common_Content")
        if language == "en-US":  # the screenshots, once: pictures Kura passes over
            shutil.copytree(book / "images", target / "images")
    english = source / "en-US"
    chinese = source / "zh-CN"
    # The whole book as one file: chapters in reading order, as its "next" links go.
    whole_en = scratch / "debian-handbook-en-US.html"
    whole_en.write_text(join_book(english, "The Debian Administrator's Handbook"),
                        encoding="utf-8")
    to_pdf(whole_en, out / "The-Debian-Administrators-Handbook.pdf", scratch)
    whole_zh = scratch / "debian-handbook-zh-CN.html"
    whole_zh.write_text(join_book(chinese, "Debian 管理员手册"), encoding="utf-8")
    pandoc(whole_zh, out / "Debian管理员手册.txt", "plain")
    for language, pages in HANDBOOK_DOCX.items():
        for page in pages:
            pandoc(book_page(source / language, page, scratch),
                   out / "saved" / language / f"{Path(page).stem}.docx", "docx")
    for page in HANDBOOK_PDF_ZH:
        to_pdf(book_page(chinese, page, scratch),
               out / "saved" / "zh-CN" / f"{Path(page).stem}.pdf", scratch)
    security = scratch / "security-en.html"
    security.write_text(join_pages(english, HANDBOOK_EPUB_EN, "Debian security chapters"),
                        encoding="utf-8")
    pandoc(security, out / "saved" / "en-US" / "security-chapters.epub", "epub")


def reading_order(book: Path) -> list[str]:
    order: list[str] = []
    page: str | None = "index.html"
    while page and page not in order and (book / page).exists():
        order.append(page)
        match = re.search(r'<link rel="next" href="([^"#]+)"', read(book / page))
        page = match.group(1) if match else None
    return order


def join_book(book: Path, title: str) -> str:
    return join_pages(book, reading_order(book), title)


def join_pages(book: Path, pages: Iterable[str], title: str) -> str:
    bodies = "\n".join(page_body(read(book / page)) for page in pages)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"/><title>{title}</title>'
            f"</head><body>\n{bodies}\n</body></html>\n")


def book_page(book: Path, page: str, scratch: Path) -> Path:
    """One chapter page without the site's navigation, ready to convert."""
    title_match = re.search(r"<title[^>]*>([^<]*)</title>", read(book / page))
    title = title_match.group(1) if title_match else Path(page).stem
    target = scratch / f"{book.name}-{Path(page).stem}.html"
    target.write_text(join_pages(book, [page], title), encoding="utf-8")
    return target


def page_body(html: str) -> str:
    """A publican page's content: the body without banner, title bar, navigation, images."""
    match = re.search(r"<body[^>]*>(.*)</body>", html, re.S)
    body = match.group(1) if match else html
    body = re.sub(r'<div id="banner">.*?</div>', "", body, flags=re.S)
    body = re.sub(r'<p id="title">.*?</p>', "", body, flags=re.S)
    body = re.sub(r'<ul class="docnav">.*?</ul>', "", body, flags=re.S)
    body = re.sub(r"<script.*?</script>", "", body, flags=re.S)
    body = re.sub(r"<img[^>]*>", "", body)
    return re.sub(r'xmlns(:\w+)?="[^"]*"', "", body)


# --- git ---------------------------------------------------------------------------------

def build_git(source: Path, out: Path, scratch: Path) -> None:
    # The pages of the everyday commands and the guides, as HTML; the guides again as
    # their AsciiDoc sources (the same text), as a clone of git's Documentation/ holds.
    commands, guides = git_pages(source)
    copy_files(source, out / "html", sorted(f"{name}.html" for name in commands | guides))
    copy_files(source, out / "txt", sorted(f"{name}.txt" for name in guides))
    shutil.copytree(source / "howto", out / "howto")
    to_pdf(source / "user-manual.html", out / "git-user-manual.pdf", scratch)
    for page in GIT_MARKDOWN:
        pandoc(source / page, out / "notes" / f"{Path(page).stem}.md", "gfm")
    for page in GIT_RST:
        pandoc(source / page, out / "notes" / f"{Path(page).stem}.rst", "rst")


def git_pages(source: Path) -> tuple[set[str], set[str]]:
    """The main porcelain commands (as git's own command list names them) and the guides
    (gitfaq, gittutorial, ..., the user manual), each with both an HTML and a TXT file."""
    listed = re.findall(r"linkgit:(git-[a-z0-9-]+)\[", read(source / "cmds-mainporcelain.txt"))
    guides = {p.stem for p in source.glob("git[a-z]*.txt") if not p.name.startswith("git-")}
    guides.add("user-manual")

    def both(name: str) -> bool:
        return (source / f"{name}.html").exists() and (source / f"{name}.txt").exists()

    return {name for name in listed if both(name)}, {name for name in guides if both(name)}


# --- SQLite ------------------------------------------------------------------------------

def build_sqlite(source: Path, out: Path, scratch: Path) -> None:
    pages = sorted(p.name for p in source.glob("lang_*.html")) + [f"{name}.html" for name in
                                                                    SQLITE_PAGES]
    copy_files(source, out / "html", pages)
    for asset in ("sqlite.css", "images/sqlite370_banner.gif"):
        (out / "html" / asset).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / asset, out / "html" / asset)
    for page in SQLITE_MARKDOWN:
        pandoc(source / page, out / "converted" / f"{Path(page).stem}.md", "gfm")
    for page in SQLITE_DOCX:
        pandoc(source / page, out / "converted" / f"{Path(page).stem}.docx", "docx")
    for page in SQLITE_PDF:
        to_pdf(source / page, out / "converted" / f"{Path(page).stem}.pdf", scratch)


# --- Conversions and files ---------------------------------------------------------------

def pandoc(source: Path, target: Path, to: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Markup only: pandoc would otherwise keep raw <div>s and <svg> diagrams in Markdown.
    writer = {"gfm": "gfm-raw_html"}.get(to, to)
    extra = ["--wrap=none"] if to in ("gfm", "rst", "plain") else []
    if to == "epub":  # else a random identifier and today's date
        extra = ["-M", f"identifier=urn:kura-benchmark:{target.stem}", "-M", "date=2024-01-01"]
    subprocess.run(["pandoc", "--quiet", "-f", "html-native_divs-native_spans", "-t", writer,
                    *extra, "-o", str(target),
                    str(source)], check=True, cwd=source.parent, env=pinned_env())
    if to == "epub":  # pandoc stamps the e-book's zip entries with the time of day
        pin_zip(target)


def to_pdf(source: Path, target: Path, scratch: Path) -> None:
    """LibreOffice's PDF of an HTML page, with its dates and IDs pinned."""
    target.parent.mkdir(parents=True, exist_ok=True)
    outdir = scratch / "pdf"
    outdir.mkdir(exist_ok=True)
    # A private profile: a running LibreOffice (or a stale lock) would swallow the job.
    profile = (scratch / "lo-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "pdf:writer_web_pdf_Export", "--outdir", str(outdir),
                    str(source)], check=True, capture_output=True, env=pinned_env())
    produced = outdir / f"{source.stem}.pdf"
    target.write_bytes(pin_pdf(produced.read_bytes()))
    produced.unlink()


def pin_pdf(data: bytes) -> bytes:
    """Replace creation dates, the checksum and the document ID by fixed bytes of the
    same length, so the cross-reference offsets stay right and equal inputs give equal
    files."""
    def zeros(match: re.Match[bytes]) -> bytes:
        return match.group(1) + re.sub(rb"[0-9A-Fa-f]", b"0", match.group(2)) + match.group(3)

    data = re.sub(rb"(/(?:CreationDate|ModDate)\s*\(D:)([0-9]+)([^)]*\))", zeros, data)
    data = re.sub(rb"(/DocChecksum\s*/)([0-9A-Fa-f]+)(\s)", zeros, data)
    return re.sub(rb"(/ID\s*\[\s*<)([0-9A-Fa-f]+>\s*<[0-9A-Fa-f]+)(>\s*\])", zeros, data)


def pin_zip(path: Path) -> None:
    """Rewrite a zip with every entry dated ``EPOCH``, in the same order and compression."""
    with zipfile.ZipFile(path) as original:
        entries = [(info, original.read(info)) for info in original.infolist()]
    with zipfile.ZipFile(path, "w") as pinned:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, time.gmtime(EPOCH)[:6])
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            pinned.writestr(fixed, data)


def pinned_env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), "TZ": "UTC"}


def copy_files(source: Path, target: Path, names: Iterable[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(source / name, target / name)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def pin_times(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH))


# --- Manifest ----------------------------------------------------------------------------

def write_manifest(root: Path, versions: dict[str, str]) -> dict[str, object]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    by_format: Counter[str] = Counter()
    bytes_by_format: Counter[str] = Counter()
    by_top: Counter[str] = Counter()
    listing = []
    for path in files:
        size = path.stat().st_size
        extension = path.suffix.lower().lstrip(".") or "(none)"
        by_format[extension] += 1
        bytes_by_format[extension] += size
        by_top[path.relative_to(root).parts[0]] += size
        listing.append({"path": path.relative_to(root).as_posix(), "bytes": size})
    manifest: dict[str, object] = {
        "packages": versions,
        "files": len(files),
        "bytes": sum(item["bytes"] for item in listing),  # type: ignore[misc]
        "files_by_format": dict(sorted(by_format.items())),
        "bytes_by_format": dict(sorted(bytes_by_format.items())),
        "bytes_by_folder": dict(sorted(by_top.items())),
        "listing": listing,
    }
    manifest_path(root).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return manifest


def manifest_path(root: Path) -> Path:
    return root.with_name(f"{root.name}.manifest.json")


def print_summary(manifest: dict[str, object]) -> None:
    files_by_format = manifest["files_by_format"]
    bytes_by_format = manifest["bytes_by_format"]
    assert isinstance(files_by_format, dict) and isinstance(bytes_by_format, dict)
    print(f"{manifest['files']} files, {int(manifest['bytes']) / 1e6:.1f} MB "  # type: ignore[call-overload]
          f"({json.dumps(manifest['packages'])})")
    for extension, count in sorted(files_by_format.items(), key=lambda kv: -bytes_by_format[kv[0]]):
        print(f"  {extension:>6}: {count:5d} files, {bytes_by_format[extension] / 1e6:6.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
