"""The packaged app's entry point (PyInstaller runs this file).

If even importing Kura fails (a module the bundle lacks), the reason still reaches the
log in the data dir and stderr before the app exits.
"""

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
    sys.exit(_run())
