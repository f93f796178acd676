"""Stand-ins for the FFmpeg libraries that OpenCV's Linux wheel links for video (used by
kura.spec on Linux; tests/packaging/test_opencv_stubs.py).

opencv-python-headless's ``cv2`` is linked against FFmpeg for ``VideoCapture`` and
``VideoWriter``: libavcodec, libavformat, libavutil, libswscale and, through them,
libswresample, libvpx and dav1d, 35 MiB of the 170 MiB OpenCV adds to the package. Kura
never opens a video: OCR uses OpenCV's image processing on arrays (resize, rotate,
contours, the perspective crop), and tests/packaging checks that Kura's code calls no
OpenCV video function.

The libraries cannot simply be left out: Python loads ``cv2`` with ``RTLD_NOW``, so every
symbol it imports must resolve when it is imported. Each is therefore replaced by a stub
with the same soname that defines exactly the symbols the kept libraries import from it,
at the same symbol versions; a stub that is ever called prints which function it stands
for and aborts (in a reading worker that costs the worker, which Kura replaces, and the
file is skipped as having crashed its reader). The libraries that only the stubbed ones
needed are then left out. OpenCV's image files (``imread``, ``imencode``, AVIF included)
keep working: libavif and libaom stay. Measured on opencv-python-headless 5.1.0.95:
35.4 MiB less, OCR reads the same. Needs ``readelf`` (binutils) and a C compiler (``$CC``
or ``cc``), which the Linux build has anyway.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# auditwheel's names: lib<name>-<8 hex digits>.so.<version>, in <dist>.libs/ beside cv2.
STUBBED = re.compile(r"^lib(avcodec|avformat|avutil|avdevice|avfilter|swscale|swresample|"
                     r"postproc)-[0-9a-f]{8}\.so")
OPENCV_LIBS_DIRS = ("opencv_python_headless.libs", "opencv_python.libs")

Entry = tuple[str, str, str]  # PyInstaller's TOC entry: (destination, source, type code)


@dataclass(frozen=True)
class Symbol:
    name: str
    version: str | None  # None: unversioned
    kind: str  # readelf's type: FUNC, OBJECT, ...
    size: int


@dataclass(frozen=True)
class Stubbed:
    """What ``stub_video_libraries`` did: each stubbed library's size, the stub's size and
    how many symbols it stands for; the libraries left out and their size."""
    stubs: dict[str, tuple[int, int, int]]
    dropped: dict[str, int]

    def saved_bytes(self) -> int:
        return (sum(real - stub for real, stub, _n in self.stubs.values())
                + sum(self.dropped.values()))

    def describe(self) -> str:
        if not self.stubs:
            return "OpenCV: no video library to stub"
        names = ", ".join(f"{name} ({count} symbols)"
                          for name, (_r, _s, count) in sorted(self.stubs.items()))
        dropped = ", ".join(sorted(self.dropped)) or "none"
        return (f"OpenCV: stubbed {names}; left out {dropped}; "
                f"{self.saved_bytes() / (1 << 20):.1f} MiB saved")


def _readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True,
                          check=True).stdout


def needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF file, in order."""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", _readelf("-d", str(path)))


def soname(path: Path) -> str:
    found = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", _readelf("-d", str(path)))
    return found.group(1) if found else path.name


def dynamic_symbols(path: Path) -> tuple[set[Symbol], set[Symbol]]:
    """(defined, undefined) global symbols of an ELF file's dynamic symbol table. Only a
    default version (``name@@V``) counts as defined: that is what a new reference binds to."""
    defined: set[Symbol] = set()
    undefined: set[Symbol] = set()
    for line in _readelf("--dyn-syms", str(path)).splitlines():
        fields = line.split()
        if len(fields) < 8 or not fields[0].rstrip(":").isdigit():
            continue
        _num, _value, size, kind, bind, _vis, ndx, name = fields[:8]
        if bind not in ("GLOBAL", "WEAK") or kind in ("SECTION", "FILE"):
            continue
        nbytes = int(size, 16) if size.startswith("0x") else int(size)
        if ndx == "UND":
            base, _, version = name.partition("@")
            undefined.add(Symbol(base, version or None, kind, 0))
        elif "@@" in name:
            base, version = name.split("@@", 1)
            defined.add(Symbol(base, version, kind, nbytes))
        elif "@" not in name:
            defined.add(Symbol(name, None, kind, nbytes))
    return defined, undefined


def stub_source(library: str, symbols: Iterable[Symbol]) -> str:
    """C source of a stub that defines ``symbols``: functions that report and abort,
    objects as zeroed storage of the real size."""
    lines = ["#include <stdio.h>", "#include <stdlib.h>", "",
             "static void kura_stub_called(const char *name) {",
             f'    fprintf(stderr, "Kura: OpenCV called %s of {library}, which this package '
             'leaves out (video: see packaging/opencv_stubs.py)\\n", name);',
             "    abort();", "}", ""]
    for symbol in sorted(symbols, key=lambda s: s.name):
        if symbol.kind == "OBJECT":
            lines.append(f"char {symbol.name}[{max(1, symbol.size)}];")
        elif symbol.kind in ("FUNC", "IFUNC", "NOTYPE"):
            lines.append(f'void {symbol.name}(void) {{ kura_stub_called("{symbol.name}"); }}')
        else:
            raise ValueError(f"{library}: cannot stand in for {symbol.kind} {symbol.name}")
    return "\n".join(lines) + "\n"


def version_script(symbols: Iterable[Symbol]) -> str | None:
    """A linker version script giving each symbol its version (None: none versioned)."""
    by_version: dict[str, list[str]] = {}
    unversioned = []
    for symbol in symbols:
        if symbol.version is None:
            unversioned.append(symbol.name)
        else:
            by_version.setdefault(symbol.version, []).append(symbol.name)
    if not by_version:
        return None
    if unversioned:
        raise ValueError(f"versioned and unversioned symbols mixed: {sorted(unversioned)}")
    return "".join(f"{version} {{ global: {'; '.join(sorted(names))}; local: *; }};\n"
                   for version, names in sorted(by_version.items()))


def build_stub(real: Path, symbols: set[Symbol], out_dir: Path) -> Path:
    """Compiles the stub of ``real`` (same soname, ``symbols`` defined) into ``out_dir``."""
    name = soname(real)
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "stub.c"
    source.write_text(stub_source(name, symbols), encoding="utf-8")
    output = folder / real.name
    command = [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O1", "-s",
               f"-Wl,-soname,{name}", "-o", str(output), str(source)]
    script = version_script(symbols)
    if script:
        (folder / "symbols.map").write_text(script, encoding="utf-8")
        command.insert(-1, f"-Wl,--version-script={folder / 'symbols.map'}")
    subprocess.run(command, check=True, capture_output=True, text=True)
    return output


def _libs_dir(dest: str) -> str | None:
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    return parts[0] if len(parts) == 2 and parts[0] in OPENCV_LIBS_DIRS else None


def stub_video_libraries(binaries: list[Entry], out_dir: Path) -> tuple[list[Entry], Stubbed]:
    """``binaries`` (PyInstaller's ``Analysis.binaries``) with OpenCV's video libraries
    replaced by stubs built in ``out_dir``, and the libraries nothing kept needs
    any more left out. Unchanged when there are none (another OpenCV build, not Linux)."""
    in_libs = {PurePosixPath(dest).name: (dest, Path(src)) for dest, src, _kind in binaries
               if _libs_dir(dest)}
    stubbed = {name for name in in_libs if STUBBED.match(name)}
    if not stubbed:
        return binaries, Stubbed({}, {})
    # Who loads what: every other collected ELF file that needs one of OpenCV's libraries
    # (cv2's extension), then what the kept ones need in turn. A stub needs nothing.
    roots = [Path(src) for dest, src, kind in binaries if not _libs_dir(dest)
             and kind in ("BINARY", "EXTENSION") and _is_elf(Path(src))]
    importers = [path for path in roots if set(needed(path)) & in_libs.keys()]
    reached: set[str] = set()
    queue = [name for path in importers for name in needed(path) if name in in_libs]
    while queue:
        name = queue.pop()
        if name in reached:
            continue
        reached.add(name)
        if name not in stubbed:
            importers.append(in_libs[name][1])
            queue.extend(n for n in needed(in_libs[name][1]) if n in in_libs)
    imported: set[Symbol] = set()
    for path in importers:
        imported |= dynamic_symbols(path)[1]
    replaced: dict[str, Path] = {}
    report: dict[str, tuple[int, int, int]] = {}
    for name in sorted(stubbed & reached):
        real = in_libs[name][1]
        exported = {(s.name, s.version): s for s in dynamic_symbols(real)[0]}
        wanted = {exported[(s.name, s.version)] for s in imported
                  if (s.name, s.version) in exported}
        stub = build_stub(real, wanted, out_dir)
        replaced[name] = stub
        report[name] = (real.stat().st_size, stub.stat().st_size, len(wanted))
    dropped = {name: path.stat().st_size for name, (_d, path) in in_libs.items()
               if name not in reached}
    kept: list[Entry] = []
    for dest, src, kind in binaries:
        name = PurePosixPath(dest).name
        if _libs_dir(dest) and name in dropped:
            continue
        # PyInstaller links each of them into the top folder too (src: the link's target)
        if kind == "SYMLINK" and _libs_dir(src) and PurePosixPath(src).name in dropped:
            continue
        kept.append((dest, str(replaced[name]), kind) if _libs_dir(dest) and name in replaced
                    else (dest, src, kind))
    return kept, Stubbed(report, dropped)


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == b"\x7fELF"
    except OSError:
        return False
