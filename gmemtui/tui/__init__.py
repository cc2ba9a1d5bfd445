"""The Textual TUI (``gmemtui [FILE]``). Nothing outside this package imports Textual; importing this
package itself does not either (``run.main`` imports the app lazily)."""
