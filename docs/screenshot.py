"""Take the README's screenshot of the real window, on a real X server (Xvfb).

    xvfb-run -s "-screen 0 1480x940x24" .venv/bin/python docs/screenshot.py docs/kura-window.png

It opens Kura in a temporary data dir with the real models (``KURA_EMBEDDER_DIR`` /
``KURA_LLM_PATH``, defaulting to the test builds), adds the seed's knowledge base one
collection per category, asks "如何重置密码?", opens citation [1] and grabs the screen.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CORP_KB = REPO.parent / "shared" / "fixtures" / "corp_kb"


def main(out: Path, language: str = "en") -> None:
    if "KURA_EMBEDDER_DIR" not in os.environ:
        from models.build import quantized_dir

        os.environ["KURA_EMBEDDER_DIR"] = str(quantized_dir(log=lambda _m: None))
    if "KURA_LLM_PATH" not in os.environ:
        from models.small_llm import gguf_270m

        os.environ["KURA_LLM_PATH"] = str(gguf_270m())
    os.environ["KURA_HOME"] = tempfile.mkdtemp(prefix="kura-shot-")

    from PySide6.QtCore import QEventLoop, QUrl
    from PySide6.QtWidgets import QApplication

    from desktop_app.core.preferences import Preferences
    from desktop_app.gui.app import create_window

    app = QApplication([])
    window = create_window(Preferences(max_answer_tokens=96, theme="light",
                                       language=language))  # type: ignore[arg-type]
    window.resize(1440, 900)
    window.show()
    window.start()

    def wait(done, timeout: float = 600) -> None:
        end = time.time() + timeout
        while not done():
            if time.time() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    wait(lambda: window.library.library is not None and window.models_status is not None)
    window.add_paths(sorted(p for p in CORP_KB.iterdir() if p.is_dir()), "")
    wait(lambda: not window.library.lane.busy and window.library.status is not None
         and len(window.library.status.collections) == 4
         and window.library.status.unembedded_keys == 0)
    window.ask("如何重置密码?")
    wait(lambda: not window.chats.busy)
    card = window.chat_panel.answer_cards()[-1]
    card.body.anchorClicked.emit(QUrl("cite:1"))
    wait(lambda: window.preview.current is not None)
    end = time.time() + 1
    while time.time() < end:
        app.processEvents()
    screen = app.primaryScreen()
    shot = screen.grabWindow(0) if os.environ.get("DISPLAY") else window.grab()
    geometry = window.frameGeometry()
    shot = shot.copy(geometry) if os.environ.get("DISPLAY") else shot
    shot.save(str(out))
    print(f"saved {out} ({shot.width()}x{shot.height()})")
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/kura-window.png"),
         sys.argv[2] if len(sys.argv) > 2 else "en")
