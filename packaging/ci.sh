#!/usr/bin/env bash
# CI for the Linux package:  bash packaging/ci.sh
#
# 1. the packaging venv and the portable native wheels (reused from
#    ~/.cache/kura-build/package when nothing changed; KURA_BUILD_CACHE moves it)
# 2. PyInstaller on packaging/kura.spec -> dist/Kura, the tarball (build_linux.sh)
# 3. the bundle's contents: what must be in, what must not, every library resolvable
#    (check_bundle.py), and its size per component
# 4. dist/Kura/kura --selftest on the offscreen platform
# 5. the packaged window under Xvfb with an empty data dir: wait for the window
#    (xdotool), take a screenshot (dist/ci/kura-window.png), close it
#
# Idempotent; fails loudly (any step's failure stops it with a message and exit 1).
# Installs what it needs from Debian (xvfb, xdotool, imagemagick, Qt's X11 libraries)
# when missing.
set -euo pipefail
source "$(dirname "$0")/common.sh"

START=$SECONDS
step() { log "[$((SECONDS - START))s] $*"; }
trap 'echo "packaging/ci.sh: FAILED at line $LINENO (after $((SECONDS - START)) s)" >&2' ERR

# --- system packages --------------------------------------------------------------
# Qt's xcb platform plugin needs these X11 libraries at run time; the bundle does not
# carry them (PyInstaller leaves the system's X11/GL libraries to the system).
DEBS=(xvfb xauth xdotool imagemagick libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4
      libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
      libxcb-randr0 libxcb-xkb1 libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-noto-cjk)
missing=()
for deb in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    command -v apt-get >/dev/null || die "missing Debian packages and no apt-get: ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
fi

# --- build ------------------------------------------------------------------------
step "build (packaging/build_linux.sh)"
bash "$KURA_REPO/packaging/build_linux.sh"
APP="$KURA_REPO/dist/Kura"
OUT="$KURA_REPO/dist/ci"
rm -rf "$OUT"
mkdir -p "$OUT"
venv="$(kura_pkg_venv "$(kura_native_wheels 2>/dev/null)" 2>/dev/null)"

step "bundle contents"
"$venv/bin/python" "$KURA_REPO/packaging/check_bundle.py" "$APP" | tee "$OUT/bundle.txt"

# --- selftest ---------------------------------------------------------------------
step "selftest (offscreen)"
HOME_DIR="$(mktemp -d)"
trap 'rm -rf "$HOME_DIR"' EXIT
QT_QPA_PLATFORM=offscreen KURA_HOME="$HOME_DIR/selftest" "$APP/kura" --selftest \
    | tee "$OUT/selftest.txt"
[ "${PIPESTATUS[0]}" = 0 ] || die "the packaged selftest failed (see above)"
grep -q "selftest: all loaded" "$OUT/selftest.txt" || die "selftest printed no verdict"

# --- the window under Xvfb ------------------------------------------------------------
step "packaged window under Xvfb"
KURA_HOME="$HOME_DIR/gui" xvfb-run -a -s "-screen 0 1440x900x24" \
    bash "$KURA_REPO/packaging/linux/gui_smoke.sh" "$APP/kura" "$OUT" \
    || die "the packaged window did not come up (log: $HOME_DIR/gui/logs/kura.log)"

step "done: Linux package built, selftest passed, window shown"
echo "packaging/ci.sh: OK in $((SECONDS - START)) s"
