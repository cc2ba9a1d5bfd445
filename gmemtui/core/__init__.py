"""The domain, pure: platform ladders, the layout model, the kernel's rules and closed-form coverage.

May import only the standard library: nothing else of gmemtui, no YAML, no Textual, no Rich. Every
other layer builds on it (``formats`` reads files into its model, ``commands`` and ``tui`` show what
``coverage`` computes). ``rules`` is the place to read beside the kernel: one entry per check, each
citing the kernel function it comes from.
"""
