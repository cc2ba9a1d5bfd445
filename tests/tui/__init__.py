"""Tests of the Textual TUI (Pilot drives the real app)."""
