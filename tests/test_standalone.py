"""The repository stands alone: a fresh clone, with nothing beside it, has everything it refers to.

(a) No git-tracked text file names the outside contract or its folder, an absolute path of the
machine it was written on, or a relative path that climbs out of the repository; tracked symlinks
point inside. (b) Every relative link and image of README.md and docs/*.md resolves to a tracked
file or folder, and a ``#anchor`` to a heading of its target page.

The patterns are spelled so that this file does not match itself.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The mail thread the project starts from, shipped verbatim: its quoted text is not ours to edit.
VERBATIM = {"layouts/lkml-gmem-hugepage-thread.txt"}

# What must not appear: the contract's folder and file, a section sign after the contract's name,
# the absolute path of the machine, and a ../ path (checked for where it leads, below).
FORBIDDEN = [
    ("the shared folder", re.compile(r"(?<![\w-])shared/(?:[\w-]+/|[\w-]+\.\w|SPEC|seed|research|design)")),
    ("the contract file", re.compile(r"SPEC\.md")),
    ("a contract section", re.compile(r"SPEC\s?\u00a7")),
    ("a machine path", re.compile(r"/wor[k]/")),
]
UP = "." + "./"  # one step up, spelled so that this file does not match itself
UP_PATH = re.compile(r"(?:\.\./)+[^\s)\]'\"`>,;:*|]*")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60)


def tracked() -> dict[str, str]:
    """Tracked paths -> git mode (``120000`` for a symlink); skip the test outside a git checkout."""
    try:
        top = _git("rev-parse", "--show-toplevel")
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT:
        pytest.skip("not a git checkout of this repository (an unpacked sdist?)")
    r = _git("ls-files", "-s", "-z")
    assert r.returncode == 0, r.stderr
    out: dict[str, str] = {}
    for entry in r.stdout.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            out[path] = meta.split()[0]
    return out


def leaves_repo(rel_file: str, up_path: str) -> bool:
    """Whether ``up_path``, read relative to the folder of ``rel_file``, ends outside the repository."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel_file), up_path))
    return joined == ".." or joined.startswith("../")


def outside_refs(rel_file: str, text: str) -> list[str]:
    """Every reference of ``text`` (the content of ``rel_file``) to something outside the repository."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for what, rx in FORBIDDEN:
            m = rx.search(line)
            if m:
                found.append(f"{rel_file}:{n}: names {what}: {m.group(0)!r}")
        for m in UP_PATH.finditer(line):
            if leaves_repo(rel_file, m.group(0)):
                found.append(f"{rel_file}:{n}: path leaves the repository: {m.group(0)!r}")
    return found


def test_the_detectors_find_what_they_are_for() -> None:
    bad = {
        "the contract": "see " + UP + "shared/" + "SPEC" + ".md",
        "a section": "as " + "SPEC" + " \u00a72 says",
        "the seed folder": "gmemtui report " + "shared/" + "seed/mail.txt",
        "the machine": "open('/" + "work/main/x')",
        "a climb out of docs": "[x](" + UP * 2 + "elsewhere.md)",
    }
    for what, line in bad.items():
        where = "docs/" + "page.md" if "docs" in what else "README.md"
        assert outside_refs(where, line), what
    good = [
        "[benchmarks](" + UP + "benchmarks/README.md)",  # docs/ -> the repository's benchmarks/
        "frames are private or shared/private at the edge",
        "the specification of the rules",
    ]
    for line in good:
        assert outside_refs("docs/" + "page.md", line) == [], line


def test_no_tracked_file_refers_outside_the_repository() -> None:
    problems: list[str] = []
    for path, mode in sorted(tracked().items()):
        full = ROOT / path
        if mode == "120000":
            target = Path(posixpath.normpath(posixpath.join(posixpath.dirname(path), str(full.readlink()))))
            if str(target).startswith(".."):
                problems.append(f"{path}: symlink to {full.readlink()} outside the repository")
            continue
        if path in VERBATIM or not full.is_file():
            continue
        data = full.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        problems += outside_refs(path, text)
    assert problems == [], "\n".join(problems)


# --- links of the README and docs/ ------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The page without fenced code blocks and inline code (links there are examples, not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return LINK.findall(body) + REF_DEF.findall(body)


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for title in HEADING.findall(FENCE.sub("", markdown)):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link in a heading: its text
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_link_parsing() -> None:
    page = ("See [rules](docs/rules.md#the-order) and ![shot](docs/a.svg \"title\"), "
            "[web](https://example.org), `[code](not/a/link.md)`.\n\n```\n[x](nor/this.md)\n```\n"
            "[ref]: docs/formats.md\n")
    assert links(page) == ["docs/rules.md#the-order", "docs/a.svg", "https://example.org", "docs/formats.md"]
    assert anchors("# A `b` c\n## The TUI: `gmemtui [FILE]`, `-`\n## A `b` c\n") == {
        "a-b-c", "the-tui-gmemtui-file--", "a-b-c-1"}


def pages(files: dict[str, str]) -> list[str]:
    return sorted(p for p in files if p == "README.md" or (p.startswith("docs/") and p.endswith(".md")))


def broken_links(page: str, text: str, files: set[str], read=None) -> tuple[list[str], int]:
    """(problems, links checked) of one page; ``read(path)`` gives a tracked page's text for anchors."""
    folders = {f for p in files for f in _parents(posixpath.dirname(p))}
    read = read or (lambda path: (ROOT / path).read_text(encoding="utf-8"))
    problems: list[str] = []
    checked = 0
    for target in links(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # https:, mailto: ...: not a file of the repository
        checked += 1
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
        if resolved.startswith("../") or resolved == "..":
            problems.append(f"{page}: {target} leaves the repository")
        elif resolved not in files and resolved.rstrip("/") not in folders:
            problems.append(f"{page}: {target} is not a tracked file or folder")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(read(resolved)):
            problems.append(f"{page}: {target}: no heading #{anchor} in {resolved}")
    return problems, checked


def test_broken_links_are_found() -> None:
    files = {"README.md", "docs/rules.md", "gmemtui/core/rules.py"}
    page = (f"[ok](rules.md#the-order) [dir]({UP}gmemtui/core) [self](#top) [gone](missing.md) "
            f"[out]({UP}{UP}x.md) [anchor](rules.md#nope) ![img](shot.svg)")
    problems, checked = broken_links("docs/rules.md", page, files, lambda p: "# Top\n## The order\n")
    assert checked == 7
    assert [p.split(": ")[1] for p in problems] == [
        "missing.md is not a tracked file or folder", f"{UP}{UP}x.md leaves the repository",
        "rules.md#nope", "shot.svg is not a tracked file or folder"]


def test_every_link_of_the_readme_and_docs_resolves() -> None:
    files = tracked()
    problems: list[str] = []
    checked = 0
    for page in pages(files):
        found, n = broken_links(page, (ROOT / page).read_text(encoding="utf-8"), set(files))
        problems += found
        checked += n
    assert problems == [], "\n".join(problems)
    assert checked > 20  # the pages do link (a parser that finds nothing would pass vacuously)


def _parents(folder: str) -> list[str]:
    out = []
    while folder:
        out.append(folder)
        folder = posixpath.dirname(folder)
    return out


def test_the_readme_links_every_docs_page() -> None:
    files = tracked()
    readme = prose((ROOT / "README.md").read_text(encoding="utf-8"))
    linked = {posixpath.normpath(t.partition("#")[0]) for t in links(readme)}
    missing = [p for p in pages(files) if p != "README.md" and p not in linked]
    assert missing == [], f"README.md does not link {missing}"


def test_every_docs_page_named_anywhere_exists() -> None:
    """Docstrings and comments send readers to ``docs/<page>.md``: each such page must exist."""
    files = tracked()
    missing = set()
    for path in files:
        full = ROOT / path
        if path in VERBATIM or not full.is_file() or full.is_symlink():
            continue
        data = full.read_bytes()
        if b"\0" in data[:8192]:
            continue
        for page in re.findall(r"\bdocs/[\w-]+\.md\b", data.decode("utf-8", "replace")):
            if page not in files:
                missing.add(f"{path} names {page}")
    assert sorted(missing) == []
