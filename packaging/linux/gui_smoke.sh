#!/usr/bin/env bash
# Run by ci.sh inside xvfb-run: start the packaged app, wait for its window, take a
# screenshot, close it. Usage: gui_smoke.sh path/to/kura OUT_DIR (KURA_HOME set).
set -euo pipefail
APP="$1"
OUT="$2"
TIMEOUT_S="${KURA_GUI_TIMEOUT:-60}"
LOG="$KURA_HOME/logs/kura.log"

start_ns=$(date +%s%N)
"$APP" > "$OUT/gui-stdout.txt" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT

window=""
while [ -z "$window" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "the app exited before showing a window; its output:" >&2
        cat "$OUT/gui-stdout.txt" >&2
        [ -f "$LOG" ] && tail -50 "$LOG" >&2
        exit 1
    fi
    if [ $(( ($(date +%s%N) - start_ns) / 1000000000 )) -ge "$TIMEOUT_S" ]; then
        echo "no window named Kura after ${TIMEOUT_S}s" >&2
        [ -f "$LOG" ] && tail -50 "$LOG" >&2
        exit 1
    fi
    window="$(xdotool search --onlyvisible --pid "$pid" --name '^Kura' 2>/dev/null | head -1 || true)"
    [ -n "$window" ] || sleep 0.1
done
shown_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
title="$(xdotool getwindowname "$window")"
echo "window up after ${shown_ms} ms: \"$title\" (X window $window)"
echo "$shown_ms" > "$OUT/window-ms.txt"

grep -q "window shown" "$LOG" || { echo "the log has no 'window shown' line" >&2; exit 1; }
sleep 2  # let the first paint and the model check settle before the picture
import -window root "$OUT/kura-window.png"
echo "screenshot: $OUT/kura-window.png"
if grep -E "CRITICAL|Traceback" "$LOG" >&2; then
    echo "the packaged app logged an error (above)" >&2
    exit 1
fi
kill -0 "$pid" || { echo "the app died after showing its window" >&2; exit 1; }
