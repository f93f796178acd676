"""The packaged app's entry point (PyInstaller runs this file).

If even importing Kura fails (a module the bundle lacks), the reason still reaches the
log in the data dir and stderr before the app exits.
"""

import multiprocessing
import sys


def _run() -> int:
    try:
        from desktop_app.gui.app import main
    except BaseException as exc:
        try:
            from desktop_app.core.logs import log_exception, setup_logging
            from desktop_app.core.paths import data_dir

            path = setup_logging(data_dir())
            log_exception(exc, "start-up (import)")
            where = f" See {path}."
        except BaseException:
            where = ""
        if sys.stderr is not None:
            print(f"Kura could not start: {exc!r}.{where}", file=sys.stderr)
        return 1
    return main(sys.argv)


if __name__ == "__main__":
    # Kura reads files in "spawn" worker processes (desktop_app/core/reading.py); in a
    # frozen app each worker starts this same executable, and freeze_support() turns it
    # into the worker instead of a second Kura.
    multiprocessing.freeze_support()
    sys.exit(_run())
