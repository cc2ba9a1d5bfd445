"""Files in and out: YAML layouts (load, validate, save keeping comments, dump), QEMU traces and
monitor dumps, content detection, and safe writes.

May import ``gmemtui.core`` and PyYAML; never ``commands``, ``kvm``, ``tui``, Textual or Rich.
Every problem with a file is an ``InputError`` carrying ``FILE:LINE``.
"""
