"""``gmemtui serve`` in a real headless Chromium: the first screen arrives, a key typed in the page
changes the policy, the server stops cleanly (and takes the app's process with it).

Needs Chromium (Debian: ``chromium``) and textual-serve (``pip install 'gmemtui[web]'``); skipped
with one reason where either is absent. ``GMEMTUI_BROWSER_PNG=docs/browser.png`` keeps the page's
screenshot (how docs/browser.png is made).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve not installed (pip install 'gmemtui[web]')")
from browser_cdp import RECORD_WEBSOCKET, Browser, chromium, png_colours  # noqa: E402 (needs aiohttp)

pytestmark = pytest.mark.skipif(chromium() is None,
                                reason="chromium not installed (apt-get install chromium)")

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
SCREEN_TEXT = "(window.__gmemRx || []).join('')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


async def wait_listening(port: int, server: subprocess.Popen, deadline: float = 60) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        assert server.poll() is None, "gmemtui serve exited at start"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            assert loop.time() < end, "gmemtui serve never listened"
            await asyncio.sleep(0.2)


async def screen_text(browser: Browser) -> str:
    return ANSI.sub("", str(await browser.evaluate(SCREEN_TEXT)))


@asynccontextmanager
async def serving(tmp_path: Path, *args: str) -> AsyncIterator[tuple[subprocess.Popen, Browser]]:
    """``gmemtui serve ARGS`` on a free port and a headless Chromium on its page; on leaving, the
    browser is closed and the server stopped with SIGINT (what Ctrl+C sends: textual-serve shuts
    down gracefully), which must exit 0."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "gmemtui", "serve", *args, "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    browser = Browser(tmp_path / "profile")
    try:
        await wait_listening(port, server)
        await browser.start()
        await browser.send("Page.enable")
        await browser.send("Page.addScriptToEvaluateOnNewDocument", source=RECORD_WEBSOCKET)
        await browser.send("Page.navigate", url=f"http://localhost:{port}/")
        yield server, browser
    finally:
        await browser.close()
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
        code = server.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()


async def press(browser: Browser, key: str) -> int:
    """Type ``key`` into the page's terminal; the length of the screen text before it (what the
    app draws afterwards is what follows)."""
    seen = len(str(await browser.evaluate(SCREEN_TEXT)))
    await browser.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
    await browser.type_key(key)
    return seen


async def test_serve_in_headless_chromium(tmp_path: Path) -> None:
    async with serving(tmp_path) as (server, browser):
        # the first screen: textual-serve marks the page once the app's first bytes arrive, and the
        # title bar of the seed layout is on the terminal
        await browser.wait_for("document.body.classList.contains('-first-byte')", "the app's first bytes")
        await browser.wait_for(f"{SCREEN_TEXT}.includes('QEMU q35 SEV-SNP')", "the title bar")
        text = await screen_text(browser)
        assert "gmemtui · QEMU q35 SEV-SNP" in text and "per-range" in text
        assert "whole-binding ·" not in text
        app_pids = children(server.pid)
        assert app_pids, "no app process under the server"
        shot = await browser.screenshot()
        assert png_colours(shot) > 8, "the page is blank"
        # a key typed in the page reaches the app: p switches the policy in the title bar
        seen = await press(browser, "p")
        await browser.wait_for(f"{SCREEN_TEXT}.slice({seen}).includes('whole-binding')", "the new policy")
        assert "whole-binding" in ANSI.sub("", str(await browser.evaluate(SCREEN_TEXT))[seen:])
        if os.environ.get("GMEMTUI_BROWSER_PNG"):
            # Textual fills the footer once the app has had focus (a key): wait for it in the picture
            await browser.wait_for(f"{SCREEN_TEXT}.slice({seen}).includes('Quit')", "the footer")
            Path(os.environ["GMEMTUI_BROWSER_PNG"]).write_bytes(await browser.screenshot())
    assert not [p for p in app_pids if Path(f"/proc/{p}").exists()], "the app's process outlived the server"


async def test_serve_tour_in_headless_chromium(tmp_path: Path) -> None:
    """``serve --tour``: the page opens on the first lesson; H shows its hint."""
    async with serving(tmp_path, "--tour") as (_server, browser):
        await browser.wait_for(f"{SCREEN_TEXT}.includes('lesson 1/')", "the tour's progress")
        assert "The seed story, part 1" in await screen_text(browser)
        seen = await press(browser, "H")
        await browser.wait_for(f"{SCREEN_TEXT}.slice({seen}).includes('Hint')", "the hint")
