"""The guided tour (``gmemtui tour [DIR]``, docs/tour.md): the main screen on a sequence of lessons,
with a lesson panel, a task checked against the model after every change, a hint, and moving between
lessons. Importing this package does not import Textual (``run.main`` imports the app lazily)."""
