"""Which system libraries Qt's window needs and lacks, and which package brings each.

Qt's X11 platform plugin (``libqxcb.so``) links against a dozen X11/xcb libraries that
the wheels do not carry; a fresh desktop install often lacks a few of them, and Qt then
aborts with "could not load the Qt platform plugin" without saying which. Kura asks the
dynamic linker (``ldd``) for every library the plugin cannot resolve, and names the
Debian/Ubuntu and Fedora packages that provide them, so the message says exactly what to
install. One table below: a library Qt starts to need is one row.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package)
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_CANNOT_OPEN = re.compile(r"([\w.+-]+\.so[.\d]*): cannot open shared object file")


@dataclass(frozen=True)
class Missing:
    """The libraries a Qt plugin cannot resolve, and what to install for them."""

    libraries: tuple[str, ...]

    @property
    def debian(self) -> list[str]:
        return _packages(self.libraries, 0)

    @property
    def fedora(self) -> list[str]:
        return _packages(self.libraries, 1)

    def advice(self) -> str:
        """One sentence naming the libraries and the install commands."""
        if not self.libraries:
            return ""
        text = f"missing system libraries: {', '.join(self.libraries)}."
        if self.debian:
            text += f" On Debian/Ubuntu: sudo apt-get install {' '.join(self.debian)}."
        if self.fedora:
            text += f" On Fedora: sudo dnf install {' '.join(self.fedora)}."
        unknown = [lib for lib in self.libraries if lib not in PACKAGES]
        if unknown:
            text += f" (Find the package that provides {', '.join(unknown)} with your "
            text += "distribution's package search.)"
        return text


def _packages(libraries: tuple[str, ...], column: int) -> list[str]:
    names: list[str] = []
    for lib in libraries:
        if lib in PACKAGES and PACKAGES[lib][column] not in names:
            names.append(PACKAGES[lib][column])
    return names


def unresolved_libraries(plugin: Path, load_error: str = "") -> Missing:
    """Every library ``plugin`` needs that the dynamic linker cannot find.

    ``ldd`` lists all of them at once (the loader's own error names only the first);
    without ``ldd`` the loader's message (``load_error``) still names one.
    """
    found: list[str] = []
    ldd = shutil.which("ldd")
    if ldd and plugin.exists():
        try:
            out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
            found = _NOT_FOUND.findall(out)
        except (OSError, subprocess.SubprocessError):
            found = []
    if not found:
        found = _CANNOT_OPEN.findall(load_error)
    return Missing(tuple(dict.fromkeys(found)))


def xcb_plugin() -> Path:
    """Where this Qt keeps its X11 platform plugin."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    return plugins / "platforms" / "libqxcb.so"


def install_line(distribution: str) -> str:
    """The README's install command for ``debian`` or ``fedora``: every package in the
    table, so a fresh desktop install needs no second try (a test keeps the README's
    lines equal to these)."""
    column = 0 if distribution == "debian" else 1
    names = sorted({row[column] for row in PACKAGES.values()})
    tool = "sudo apt-get install" if column == 0 else "sudo dnf install"
    return f"{tool} {' '.join(names)}"
