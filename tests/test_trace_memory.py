"""A trace's memory follows its changes, not its size: the lines that change nothing (prose, refused
ioctls) are not kept, and warnings stop at MAX_NOTES plus one line that counts the rest."""

from __future__ import annotations

import gc
import os
import subprocess
import tracemalloc
from collections.abc import Callable

from gmemtui.formats.loader import load
from gmemtui.formats.trace import MAX_NOTES

MAP = "kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0"
UNMAP = "kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x0 gpa=0x0 size=0x0 ua=0x7f0000000000 ret=0"
REFUSED = "kvm_set_user_memory AddrSpace#0 Slot#1 flags=0x0 gpa=0x0 size=0x1000 ua=0x1000 ret=-22"


def retained(make: Callable[[], str]):
    """The loaded trace and the bytes it keeps (its text counted) once the caller's text is gone."""
    gc.collect()
    tracemalloc.start()
    try:
        text = make()
        loaded = load("t.trace", text=text)
        del text
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return loaded, kept


def test_prose_is_not_kept() -> None:
    prose = "x" * 100 + "\n"
    lines = [f"{i}@{i}.5:{MAP if i % 2 else UNMAP}" for i in range(1, 21)]
    loaded, kept = retained(lambda: "".join(prose * 10_000 + line + "\n" for line in lines))  # 20 MB prose
    assert len(loaded.states) == 21
    assert kept < 200_000, kept  # the prose alone is 20 MB
    assert loaded.text == ""
    for i, line in enumerate(lines, start=1):  # each state still shows its line as written
        assert loaded.states[i].text == line
        assert loaded.states[i].line == i * 10_001


def test_changes_cost_a_few_words_each() -> None:
    lines = [f"{i}@{i}.5:{MAP if i % 2 else UNMAP}" for i in range(1, 100_001)]
    loaded, kept = retained(lambda: "\n".join(lines) + "\n")
    text_size = sum(len(line) + 1 for line in lines)
    assert len(loaded.states) == 100_001
    assert kept < 64 * 100_000 + 2 * text_size  # the change log, and at most the changed lines' text
    assert loaded.states[77_777].text == lines[77_776]


def test_warnings_stop_at_max_notes() -> None:
    n = MAX_NOTES + 4_000
    loaded, _ = retained(lambda: MAP + "\n" + "\n".join([REFUSED] * n) + "\n")
    notes = loaded.layout.notes
    assert len(notes) == MAX_NOTES + 1
    assert notes[-1].message == f"4000 more warnings like these from line {MAX_NOTES + 2} on (not listed)"
    assert notes[-1].line == MAX_NOTES + 2 and all("returned -22" in w.message for w in notes[:-1])


def test_a_live_trace_keeps_only_its_changed_lines() -> None:
    """Fed in pieces (as ``--follow`` does), with empty pieces and pieces without a change between."""
    from gmemtui.formats.trace import Replayer

    replayer = Replayer("live.trace", strict=False)
    prose = "qemu: some log line that changes nothing\n" * 2_000
    lines, line = [], 1
    for i in range(1, 41):
        event = (f"{i}@{i}.5:kvm_set_user_memory AddrSpace#0 Slot#{i} flags=0x0 gpa={i << 20:#x} "
                 "size=0x100000 ua=0x7f0000000000 ret=0")
        piece = prose + event + "\n" if i % 3 else prose
        replayer.feed(piece, line)
        replayer.feed("", line + piece.count("\n"))
        if i % 3:
            lines.append((event, line + 2_000))
        line += piece.count("\n")
    states = replayer.states()
    assert len(states) == len(lines) + 1
    assert [(states[k].text, states[k].line) for k in range(1, len(states))] == lines
    assert replayer.text.length == sum(len(e) + 1 for e, _ in lines)  # the prose (3.3 MB) is gone


def _same(a, b) -> None:
    assert a.kind == b.kind and a.layout == b.layout and len(a.states) == len(b.states)
    assert [(s.line, s.text) for s in a.states] == [(s.line, s.text) for s in b.states]
    assert [s.layout for s in a.states] == [s.layout for s in b.states]


CONVERT = "kvm_convert_memory start 0x0 size 0x200000 shared_to_private"
GMEM = ("kvm_set_user_memory AddrSpace#0 Slot#2 flags=0x4 gpa=0x400000 size=0x400000 ua=0x7f0000400000 "
        "guest_memfd=9 guest_memfd_offset=0x0 ret=0")


def test_a_file_is_replayed_a_chunk_at_a_time_with_the_same_result(tmp_path, monkeypatch) -> None:
    """Chunks of 64 bytes: event lines, a conversion before the first event line, prose pieces that
    are dropped, a UTF-8 character on a chunk boundary; the same as the text loaded whole."""
    from pathlib import Path

    from gmemtui.formats import loader

    root = Path(__file__).resolve().parent.parent / "layouts"
    texts = [p.read_text() for p in sorted(root.glob("**/*.trace"))]
    texts.append("héllo ünïcode prose\n" * 50 + CONVERT + "\n" + "more prose\n" * 40 + GMEM + "\n"
                 + "\n".join(f"{i}@{i}.5:{MAP if i % 2 else UNMAP} ✓" for i in range(1, 40)) + "\n"
                 + CONVERT.replace("shared_to_private", "private_to_shared"))
    monkeypatch.setattr(loader, "CHUNK", 64)
    for i, text in enumerate(texts):
        path = tmp_path / f"{i}.trace"
        path.write_text(text, encoding="utf-8")
        _same(loader.load(str(path)), loader.load(str(path), text=text))
    fifo = tmp_path / "pipe"  # a pipe is read once: attributes are replayed whatever it holds
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{tmp_path / '0.trace'}' > '{fifo}'"])
    try:
        _same(loader.load(str(fifo)), loader.load(str(fifo), text=texts[0]))
    finally:
        writer.wait()


def test_reading_a_long_log_holds_a_chunk_not_the_file(tmp_path) -> None:
    from gmemtui.formats import loader

    path = tmp_path / "log.trace"
    with open(path, "w") as f:
        for i in range(1, 6):
            f.write(("x" * 99 + "\n") * 100_000 + f"{i}@{i}.5:{MAP if i % 2 else UNMAP}\n")  # 10 MB each
    gc.collect()
    tracemalloc.start()
    try:
        loaded = loader.load(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(loaded.states) == 6 and loaded.states[5].line == 500_005
    assert peak < 6 * loader.CHUNK, peak  # the file is 50 MB


def test_a_device_is_refused(capsys) -> None:
    from gmemtui.cli import main

    assert main(["report", "/dev/zero"]) == 2  # it would be read for ever
    assert capsys.readouterr().err == "gmemtui: /dev/zero: is a device (give a file, a pipe or -)\n"
