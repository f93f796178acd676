"""Kura's window: a thin PySide6 layer over ``desktop_app.core``.

Widgets show state and forward the user's intent; every piece of work (reading files,
embedding, searching, answering, downloading models) is a core call run on a worker
(``jobs``). Workers never touch widgets: they yield progress, and Qt delivers it to the
GUI thread through signals. The core never imports anything from here (an import-linter
contract in pyproject.toml checks that).
"""
