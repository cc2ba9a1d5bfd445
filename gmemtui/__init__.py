"""gmemtui: which guest memory KVM can map with 4K, 2M or 1G pages, and why.

Importing the package imports nothing heavy; the TUI (Textual) lives in ``gmemtui.tui`` and is only
imported by ``gmemtui [FILE]``.
"""

__version__ = "0.1.0"
