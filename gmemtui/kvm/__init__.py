"""Asking the real kernel (``gmemtui check --kvm [--levels]``, docs/kvm-check.md).

uapi (ioctl numbers and structs), vm (throwaway VM, guest_memfd, slots, host memory), flavour
(kvm_intel / kvm_amd / kvm_pvm, TDP or shadow, capabilities), predict (gmemtui's verdict of each
memslot ioctl), apply (the layout on a VM), guest (the tiny CPL3 guest), levels (stats, tracefs,
pagemap), observe (prediction vs installed page sizes). Only ``gmemtui.commands.check`` imports this package.

May import ``core`` and ``formats``; never ``commands``, ``tui``, Textual or Rich.
"""
