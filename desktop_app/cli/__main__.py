"""``python -m desktop_app.cli``: the ``kura`` command without its installed script."""

from desktop_app.cli import main

main()
