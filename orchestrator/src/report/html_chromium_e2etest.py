#!/usr/bin/python3
"""Loads the HTML report in headless Chromium, as a person's browser would,
and checks the DOM Chromium built (after running anything it would run):
  - every cell of the comparison document has its row, with the trials,
    failures, racing seconds and verdict of the JSON;
  - the status banner matches the comparison;
  - no hostile string became markup: no <script>, <img>, <iframe>, no
    on* attribute anywhere, and the hostile labels are present as text;
  - no script ran: the hostile payloads would set body[data-pwned] or change
    the title.
It first proves it can fail: the same checks on a copy of the page with one
label left unescaped (and the CSP removed, so the payload really runs) must
report the injection. Then it saves a screenshot.

Usage: html_chromium_e2etest.py REPORT_HTML COMPARE_JSON SCREENSHOT_PNG"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
PAYLOAD = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def chromium(args, timeout=180):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        sys.exit("chromium not found")
    with tempfile.TemporaryDirectory(prefix="rb-chromium-") as profile:
        run = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                             capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        sys.exit(f"chromium failed ({run.returncode}): {run.stderr[-2000:]}")
    return run.stdout


class Dom(HTMLParser):
    """Elements with their attributes, and the text inside each row."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []   # (tag, attrs dict)
        self.rows = {}       # data-cell -> (attrs, text)
        self.title = ""
        self._row = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "tr" and "data-cell" in a:
            self._row = a["data-cell"]
            self.rows[self._row] = [a, ""]
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._row is not None:
            self.rows[self._row][1] += data
        if self._in_title:
            self.title += data


def load(page):
    dom = Dom()
    dom.feed(chromium(["--dump-dom", "file://" + os.path.abspath(page)]))
    return dom


def injection_problems(dom):
    problems = []
    for tag, attrs in dom.elements:
        if tag in ("script", "img", "iframe", "object", "embed"):
            problems.append(f"<{tag}> element in the DOM")
        for name in attrs:
            if name.startswith("on"):
                problems.append(f"{name}= attribute on <{tag}>")
        if tag == "body" and "data-pwned" in attrs:
            problems.append("a script ran: body[data-pwned] is set")
    if "PWNED" in dom.title:
        problems.append("a script ran: the title changed")
    return problems


def check_figures(dom, cmp):
    problems = []
    for cell in cmp["cells"]:
        name = cell["cell"]
        if name not in dom.rows:
            problems.append(f"no row for cell {name!r}")
            continue
        attrs, text = dom.rows[name]
        cur = cell["current"]
        if cur is not None:
            for key, want in (("data-trials", cur["trials"]), ("data-failures", cur["failures"])):
                if int(attrs.get(key, -1)) != want:
                    problems.append(f"{name}: {key} {attrs.get(key)} != {want}")
            if abs(float(attrs.get("data-exposure", "nan")) - cur["exposure_s"]) > 1e-9:
                problems.append(f"{name}: data-exposure {attrs.get('data-exposure')} != {cur['exposure_s']}")
            if f"{cur['failures']}/{cur['trials']}" not in text and cur["trials"]:
                problems.append(f"{name}: row text lacks {cur['failures']}/{cur['trials']}")
        if attrs.get("data-verdict") != cell["verdict"]:
            problems.append(f"{name}: verdict {attrs.get('data-verdict')} != {cell['verdict']}")
        if name not in text:
            problems.append(f"{name}: the cell name is not in the row's text")
    status = [a for t, a in dom.elements if t == "header"]
    want = "red" if cmp["counts"]["regression"] else "purple" if cmp["counts"]["infrastructure_error"] else "green"
    if not status or status[0].get("data-status") != want:
        problems.append(f"status banner {status[0].get('data-status') if status else None} != {want}")
    return problems


def prove_the_checks_can_fail(page, cmp):
    """An unescaped payload without the CSP must be caught as markup AND as a script that ran."""
    with open(page, encoding="utf-8") as f:
        html = f.read()
    start = html.index('<meta http-equiv="Content-Security-Policy"')
    html = html[:start] + html[html.index(">", start) + 1:]
    html = html.replace("<main>", "<main>" + PAYLOAD, 1)
    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False, encoding="utf-8") as bad:
        bad.write(html)
    try:
        problems = injection_problems(load(bad.name))
    finally:
        os.unlink(bad.name)
    if not any("<img>" in p for p in problems) or not any("script ran" in p for p in problems):
        sys.exit(f"self-check failed: an injected payload was not detected ({problems})")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def main(page, compare_path, shot):
    with open(compare_path, encoding="utf-8") as f:
        cmp = json.load(f)
    prove_the_checks_can_fail(page, cmp)
    dom = load(page)
    problems = injection_problems(dom) + check_figures(dom, cmp)
    if problems:
        sys.exit("report page problems:\n  " + "\n  ".join(problems))
    os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
    chromium(["--window-size=1280,2200", f"--screenshot={os.path.abspath(shot)}", "file://" + os.path.abspath(page)])
    w, h = png_size(shot)
    print(f"{len(dom.rows)} cell rows match {compare_path}; no injected markup, no script ran; "
          f"screenshot {shot} ({w}x{h})")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
