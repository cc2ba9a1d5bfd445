"""The Textual TUI (``gmemtui [FILE]``). Nothing outside this package imports Textual; importing this
package itself does not either (``run.main`` imports the app lazily).

May import every layer below it (``core``, ``formats``, ``kvm``, and the helpers of ``commands``:
its options and text formatting), but no command's entry point; nothing of gmemtui imports it
except ``cli``."""
