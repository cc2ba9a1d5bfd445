"""A headless Chromium driven over the Chrome DevTools protocol (a websocket, through aiohttp, which
textual-serve brings along): just what the browser test needs, no WebDriver.

The terminal of textual-serve's page is drawn on a canvas (xterm.js), so its text is not in the
DOM. A script installed before the page loads keeps what the page's websocket receives (the app's
terminal output) in ``window.__gmemRx``, where the test reads the screen's text.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import aiohttp

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,800")

RECORD_WEBSOCKET = """
(() => {
  const Original = window.WebSocket;
  window.__gmemRx = [];
  window.WebSocket = function (...args) {
    const ws = new Original(...args);
    const decoder = new TextDecoder();
    ws.addEventListener("message", (event) => {
      const d = event.data;
      if (typeof d === "string") window.__gmemRx.push(d);
      else if (d instanceof ArrayBuffer) window.__gmemRx.push(decoder.decode(d, {stream: true}));
      else if (d && d.arrayBuffer) d.arrayBuffer().then((b) => window.__gmemRx.push(decoder.decode(b)));
    });
    return ws;
  };
  window.WebSocket.prototype = Original.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page; ``await send(method, **params)`` for CDP commands."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.proc: subprocess.Popen | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    async def start(self, deadline: float = 60) -> None:
        exe = chromium()
        assert exe is not None
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        active = self.profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while not active.exists() or not active.read_text().strip():
            assert self.proc.poll() is None, "chromium exited at start"
            assert loop.time() < end, "chromium did not open its DevTools port"
            await asyncio.sleep(0.1)
        port = int(active.read_text().split()[0])
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as r:
            targets = await r.json(content_type=None)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    async def send(self, method: str, **params: object) -> dict:
        assert self.ws is not None
        ident = next(self._ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == ident:
                assert "error" not in msg, msg
                return msg["result"]

    async def evaluate(self, expression: str) -> object:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, deadline: float = 60) -> None:
        """Until the page says ``expression`` is true (a guard against hanging, not a speed test)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while not await self.evaluate(expression):
            assert loop.time() < end, f"the page never showed {what}"
            await asyncio.sleep(0.2)

    async def type_key(self, char: str) -> None:
        code = f"Key{char.upper()}"
        vk = ord(char.upper())
        await self.send("Input.dispatchKeyEvent", type="keyDown", key=char, code=code, text=char,
                        windowsVirtualKeyCode=vk)
        await self.send("Input.dispatchKeyEvent", type="keyUp", key=char, code=code, windowsVirtualKeyCode=vk)

    async def screenshot(self) -> bytes:
        import base64

        return base64.b64decode((await self.send("Page.captureScreenshot", format="png"))["data"])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group chromium leads (start_new_session)
            self.proc.wait(timeout=30)


def png_colours(png: bytes, limit: int = 64) -> int:
    """How many distinct pixel values an 8-bit RGB(A) PNG has (up to ``limit``): a blank page has 1."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6) and data[12] == 0, "8-bit RGB(A), not interlaced"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    seen: set[bytes] = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        if y % 8 == 0:  # every 8th row is plenty to tell a screen from a blank page
            seen.update(bytes(line[i:i + channels]) for i in range(0, stride, channels * 4))
            if len(seen) >= limit:
                return len(seen)
    return len(seen)
