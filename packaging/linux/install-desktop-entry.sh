#!/bin/sh
# Adds Kura to the applications menu of this user (no root needed): a .desktop file in
# ~/.local/share/applications pointing at this folder, and the icon in every size.
# Run it again after moving the folder; remove with --uninstall.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
DESKTOP="$DATA/applications/kura.desktop"
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$DESKTOP"
    for size in 16 24 32 48 64 128 256 512; do
        rm -f "$DATA/icons/hicolor/${size}x${size}/apps/kura.png"
    done
    echo "Kura removed from the applications menu (its folder and data are untouched)."
    exit 0
fi
mkdir -p "$DATA/applications"
for size in 16 24 32 48 64 128 256 512; do
    if [ -f "$HERE/icons/kura-$size.png" ]; then
        mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
        cp "$HERE/icons/kura-$size.png" "$DATA/icons/hicolor/${size}x${size}/apps/kura.png"
    fi
done
sed -e "s|^Exec=.*|Exec=\"$HERE/kura\"|" "$HERE/kura.desktop" > "$DESKTOP"
chmod 644 "$DESKTOP"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "Kura is in the applications menu: $DESKTOP"
