#!/usr/bin/env bash
# Kura for Linux x86-64:  bash packaging/build_linux.sh
#
#   dist/Kura/                               the app, one folder: run dist/Kura/kura
#   dist/Kura-<version>-linux-x86_64.tar.gz  that folder, with kura.desktop, the icons
#                                            and install-desktop-entry.sh
#   dist/Kura-<version>-x86_64.AppImage      only where appimagetool is on PATH (or
#                                            APPIMAGETOOL names it): Debian does not
#                                            package it; dist/Kura.AppDir is ready for it
#
# Needs python3 (3.11+) with venv, a C/C++ compiler and cmake (for the portable
# llama.cpp build, once: cached in ~/.cache/kura-build/package). Model files are never
# packaged: Kura fetches or imports them on first launch.
#
# The package runs on Linux with glibc at least as new as the build machine's: build on
# the oldest distribution you support.
set -euo pipefail
source "$(dirname "$0")/common.sh"

[ "$(uname -s)" = Linux ] || die "build_linux.sh builds on Linux; see packaging/README.md"

wheels="$(kura_native_wheels)"
venv="$(kura_pkg_venv "$wheels")"
kura_install_self "$venv"
kura_pyinstaller "$venv"

DIST="$KURA_REPO/dist"
APP="$DIST/Kura"
VERSION="$("$venv/bin/python" -c 'import desktop_app; print(desktop_app.__version__)')"
[ -x "$APP/kura" ] || die "PyInstaller made no $APP/kura"

# Debug sections only (symbols stay): pyenv's libpython and the extensions pip built here
# carry -g; ~35 MB of the ~350.
log "strip debug info"
while IFS= read -r -d '' lib; do
    # Not "readelf | grep -q": under pipefail, grep leaving early fails readelf with
    # SIGPIPE and the test with it, so some libraries kept their debug info.
    sections="$(readelf -S "$lib" 2>/dev/null || true)"
    if [[ $sections == *.debug_info* ]]; then strip --strip-debug "$lib"; fi
done < <(find "$APP" -type f \( -name '*.so' -o -name '*.so.*' \) -print0)

log "desktop integration files"
cp "$KURA_REPO/packaging/linux/kura.desktop" "$APP/kura.desktop"
cp "$KURA_REPO/packaging/linux/install-desktop-entry.sh" "$APP/"
mkdir -p "$APP/icons"
cp "$KURA_REPO"/assets/icons/kura-{16,24,32,48,64,128,256,512}.png "$APP/icons/"
cp "$KURA_REPO/assets/icons/kura-256.png" "$APP/kura.png"

log "tarball"
TARBALL="$DIST/Kura-$VERSION-linux-x86_64.tar.gz"
rm -f "$TARBALL"
tar -C "$DIST" -czf "$TARBALL" Kura

log "AppDir"
APPDIR="$DIST/Kura.AppDir"
rm -rf "$APPDIR"
mkdir -p "$APPDIR/usr/lib" "$APPDIR/usr/share/applications"
cp -a "$APP" "$APPDIR/usr/lib/kura"
cp "$KURA_REPO/packaging/linux/AppRun" "$APPDIR/AppRun"
cp "$KURA_REPO/packaging/linux/kura.desktop" "$APPDIR/kura.desktop"
cp "$KURA_REPO/packaging/linux/kura.desktop" "$APPDIR/usr/share/applications/kura.desktop"
cp "$KURA_REPO/assets/icons/kura-256.png" "$APPDIR/kura.png"
cp "$KURA_REPO/assets/icons/kura-256.png" "$APPDIR/.DirIcon"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$APPDIR/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$KURA_REPO/assets/icons/kura-$size.png" \
        "$APPDIR/usr/share/icons/hicolor/${size}x${size}/apps/kura.png"
done
APPIMAGETOOL="${APPIMAGETOOL:-$(command -v appimagetool || true)}"
if [ -n "$APPIMAGETOOL" ]; then
    log "AppImage"
    ARCH=x86_64 "$APPIMAGETOOL" --no-appstream "$APPDIR" "$DIST/Kura-$VERSION-x86_64.AppImage" >&2
else
    log "no appimagetool: skipped the AppImage (dist/Kura.AppDir is ready for it)"
fi

log "done"
du -sh "$APP" "$TARBALL" >&2
