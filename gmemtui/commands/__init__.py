"""The commands behind ``gmemtui COMMAND`` (report, explain, diff, convert, check, and the shared
layout options), each a module with a ``main(args)`` that returns the exit code.

May import ``core``, ``formats`` and ``kvm``; never ``tui``, Textual or Rich (``gmemtui report`` stays
fast and runs where no terminal UI could). ``cli`` imports a command's module only when it runs.
"""
