"""Kura: answers about your own documents, offline.

``desktop_app.core`` is the engine (no Qt); the GUI is a thin layer over it.
"""

__version__ = "0.1.0"
