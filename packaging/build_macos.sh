#!/usr/bin/env bash
# Kura for macOS on Apple Silicon:  bash packaging/build_macos.sh
#
#   dist/Kura.app                     the app bundle (Info.plist from kura.spec's BUNDLE)
#   dist/Kura-<version>-macos-arm64.dmg
#
# UNTESTED: written without a Mac to run it on (Kura's CI is Linux). Review before use.
#
# Needs: an arm64 Python 3.11+ from python.org (a framework build; Homebrew's works too),
# the Xcode command line tools (clang, the Metal compiler) and cmake (brew install cmake).
# llama.cpp is built with Metal (the shader library embedded) and without -march=native;
# hnswlib without -mcpu=native. Both are cached in ~/.cache/kura-build/package.
#
# Signing: ad hoc by default (runs on this Mac; another Mac's Gatekeeper asks to allow it
# in System Settings > Privacy & Security). To distribute, set
#   KURA_CODESIGN_IDENTITY="Developer ID Application: ..."    (sign with hardened runtime)
#   KURA_NOTARY_PROFILE=<xcrun notarytool store-credentials profile>   (notarize + staple)
set -euo pipefail
source "$(dirname "$0")/common.sh"

[ "$(uname -s)" = Darwin ] || die "build_macos.sh builds on macOS; see packaging/README.md"
arch="$("$PYTHON" -c 'import platform; print(platform.machine())')"
[ "$arch" = arm64 ] || die "$PYTHON is $arch: use an arm64 (Apple Silicon) Python"

wheels="$(kura_native_wheels)"
venv="$(kura_pkg_venv "$wheels")"
kura_install_self "$venv"
kura_pyinstaller "$venv"

DIST="$KURA_REPO/dist"
APP="$DIST/Kura.app"
VERSION="$("$venv/bin/python" -c 'import desktop_app; print(desktop_app.__version__)')"
[ -x "$APP/Contents/MacOS/Kura" ] || die "PyInstaller made no $APP"
/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist" >&2

log "selftest"
QT_QPA_PLATFORM=offscreen KURA_HOME="$(mktemp -d)" "$APP/Contents/MacOS/Kura" --selftest

if [ -n "${KURA_CODESIGN_IDENTITY:-}" ]; then
    log "signing with $KURA_CODESIGN_IDENTITY (hardened runtime)"
    codesign --force --deep --options runtime --timestamp \
        --sign "$KURA_CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
fi

log "disk image"
DMG="$DIST/Kura-$VERSION-macos-arm64.dmg"
rm -f "$DMG"
STAGE="$(mktemp -d)"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname Kura -srcfolder "$STAGE" -ov -format UDZO "$DMG" >&2
rm -rf "$STAGE"

if [ -n "${KURA_NOTARY_PROFILE:-}" ]; then
    log "notarizing"
    [ -n "${KURA_CODESIGN_IDENTITY:-}" ] || die "notarizing needs KURA_CODESIGN_IDENTITY"
    codesign --sign "$KURA_CODESIGN_IDENTITY" --timestamp "$DMG"
    xcrun notarytool submit "$DMG" --keychain-profile "$KURA_NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
fi

log "done"
du -sh "$APP" "$DMG" >&2
