#!/usr/bin/env python3
"""html_chromium.py - numafit-report's HTML page in a real headless Chromium (Debian's chromium,
installed by scripts/install-deps.sh).

For the hand-checked fixtures and for a generated 40-node cluster (1 to 4 NUMA nodes per node):
the page is self-contained (no script, no URL, a CSP that forbids loading anything); Chromium
renders it with no console message at all (its console log is checked, and a copy of the page
with an inline script and an external image proves that such messages are caught); the DOM that
Chromium built has exactly one heatmap cell per node x NUMA node for each requested resource,
each with a tooltip, and one bar segment per zone that holds a pod; the screenshot is a real
1200x900 PNG showing the heatmap's colours.
"""
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import SRC, check, skip, summary  # noqa: E402
from nftest import report as run_report  # noqa: E402

DATA = os.path.join(SRC, "tests", "report", "data")
SHAPE = "cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1"
RESOURCES = ["cpu", "hugepages-1Gi", "intel.com/sriov"]
GI = 1 << 30


def chromium_bin():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(tmp, page, extra):
    """Run headless Chromium on a file; returns (stdout, console lines)."""
    profile = tempfile.mkdtemp(dir=tmp, prefix="profile-")
    argv = [chromium_bin(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
            "--window-size=1200,900"] + extra + ["file://" + page]
    p = subprocess.run(argv, capture_output=True, timeout=120)
    err = p.stderr.decode(errors="replace")
    console = [ln for ln in err.splitlines() if ":CONSOLE" in ln]
    return p.returncode, p.stdout.decode(errors="replace"), console


class Dom(html.parser.HTMLParser):
    """Collects the SVG elements the checks need from Chromium's --dump-dom output."""

    def __init__(self):
        super().__init__()
        self.cells, self.segs, self.heatmaps = [], [], []
        self.in_cell = False
        self.titles = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "rect" and "hm-cell" in cls:
            self.cells.append((a.get("data-resource"), a.get("data-node"), a.get("data-numa")))
            self.in_cell = True
        elif tag == "rect" and "bar-seg" in cls:
            self.segs.append((a.get("data-node"), a.get("data-zone")))
        elif tag == "svg" and "heatmap" in cls:
            self.heatmaps.append(a.get("data-resource"))
        elif tag == "title" and self.in_cell:
            self.titles += 1

    def handle_endtag(self, tag):
        if tag == "rect":
            self.in_cell = False


def png_pixels(path):
    """Decode an 8-bit RGB/RGBA non-interlaced PNG: (width, height, rows of bytes, channels)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format"
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, rows, prev = w * ch, [], bytearray(w * ch)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - ch] if i >= ch else 0
            up, ul = prev[i], prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + left) & 0xFF
            elif f == 2:
                line[i] = (line[i] + up) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return w, h, rows, ch


def colours(rows, ch):
    seen = set()
    for row in rows[::3]:
        for i in range(0, len(row), ch * 3):
            seen.add(tuple(row[i:i + 3]))
    return seen


def report_html(tmp, name, files, extra=()):
    page = os.path.join(tmp, name + ".html")
    jsn = os.path.join(tmp, name + ".json")
    for fmt, out in (("html", page), ("json", jsn)):
        rc, _, err = run_report(["--shape", SHAPE, "--format", fmt, "-o", out] + list(extra) + files)
        if rc:
            raise RuntimeError("numafit-report: " + err)
    return page, json.load(open(jsn))


def expected_cells(files):
    pairs = set()
    for f in files:
        doc = json.load(open(f))
        for n in doc["numaNodes"]:
            pairs.add((doc["node"], str(n["id"])))
    return pairs


def check_page(tmp, name, page, report, files):
    text = open(page).read()
    lowered = text.lower()
    check(not any(w in lowered for w in ("<script", "http://", "https://", "src=", "@import",
                                         "<link", "@font-face")),
          "%s: self-contained (no script, URL, link or font)" % name)
    check("default-src 'none'" in text, "%s: a CSP forbids loading anything" % name)

    rc, dom_text, console = chromium(tmp, page, ["--dump-dom"])
    check(rc == 0 and "</svg>" in dom_text, "%s: chromium dumped the DOM (rc %d)" % (name, rc))
    check(console == [], "%s: no console messages: %r" % (name, console[:3]))
    dom = Dom()
    dom.feed(dom_text)
    want = expected_cells(files)
    check(sorted(dom.heatmaps) == sorted(RESOURCES), "%s: a heatmap per resource %r" %
          (name, dom.heatmaps))
    for res in RESOURCES:
        got = [(n, z) for r, n, z in dom.cells if r == res]
        check(len(got) == len(want) and set(got) == want,
              "%s: %s heatmap has one cell per node x NUMA node (%d cells, %d expected)" %
              (name, res, len(got), len(want)))
    check(dom.titles == len(dom.cells), "%s: every cell has a tooltip" % name)
    zones = {(n["node"], str(z["id"])) for n in report["shapes"][0]["nodes"]
             for z in n["zones"] if z["fits"] > 0}
    check(set(dom.segs) == zones and len(dom.segs) == len(zones),
          "%s: one bar segment per zone that holds a pod (%d, %d expected)" %
          (name, len(dom.segs), len(zones)))

    shot = os.path.join(tmp, name + ".png")
    rc, _, console = chromium(tmp, page, ["--screenshot=" + shot])
    check(rc == 0 and os.path.exists(shot) and os.path.getsize(shot) > 20000,
          "%s: screenshot written (%s bytes)" % (name, os.path.getsize(shot) if
                                                  os.path.exists(shot) else "no"))
    if os.path.exists(shot):
        w, h, rows, ch = png_pixels(shot)
        check((w, h) == (1200, 900), "%s: screenshot is 1200x900, got %dx%d" % (name, w, h))
        seen = colours(rows, ch)
        check(len(seen) > 50, "%s: the screenshot is not blank (%d colours)" % (name, len(seen)))
        # the legend's gradient ends are drawn: viridis' dark purple and yellow
        near = lambda c: any(sum(abs(a - b) for a, b in zip(c, s)) < 30 for s in seen)
        check(near((0x44, 0x01, 0x54)) and near((0xfd, 0xe7, 0x25)),
              "%s: the heatmap colours are on screen" % name)
    keep = os.environ.get("NF_REPORT_SCREENSHOT_DIR")
    if keep and os.path.exists(shot):
        shutil.copy(shot, keep)


def generated_cluster(tmp):
    """40 nodes with 1 to 4 NUMA nodes, VFs on some of them, varying use."""
    d = os.path.join(tmp, "cluster")
    os.makedirs(d)
    files = []
    for i in range(40):
        numas = []
        for z in range(1 + i % 4):
            used = (i * 7 + z * 3) % 10
            res = {"cpu": {"capacity": 24, "allocatable": 22, "available": 22 - 2 * used},
                   "hugepages-1Gi": {"capacity": 16 * GI, "allocatable": 16 * GI,
                                     "available": (16 - used) * GI}}
            if (i + z) % 3:
                res["intel.com/sriov"] = {"capacity": 8, "allocatable": 8,
                                          "available": max(0, 8 - used)}
            numas.append({"id": z, "socket": z // 2, "resources": res})
        doc = {"apiVersion": "numafit.io/v1", "kind": "NodeTopology", "node": "gen-%02d" % i,
               "generation": 1, "kubelet": {"cpuManagerPolicy": "static",
                                            "topologyManagerScope": "pod"},
               "numaNodes": numas}
        path = os.path.join(d, "gen-%02d.json" % i)
        json.dump(doc, open(path, "w"))
        files.append(path)
    return files


def test_console_detector(tmp, page):
    """A copy of the page with a script and an external image: both blocked and logged."""
    bad = os.path.join(tmp, "bad.html")
    text = open(page).read().replace(
        "<body>", "<body><script>nosuch()</script><img src=\"http://192.0.2.1/x.png\">", 1)
    open(bad, "w").write(text)
    rc, _, console = chromium(tmp, bad, ["--dump-dom"])
    check(any("script" in ln.lower() for ln in console) and
          any("192.0.2.1" in ln for ln in console),
          "console messages are caught (CSP blocks the script and the image): %r" % console[:3])


def main():
    if not chromium_bin():
        skip("chromium is not installed (scripts/install-deps.sh installs it)")
        sys.exit(summary())
    tmp = tempfile.mkdtemp(prefix="nf-report-html-")
    try:
        small = [os.path.join(DATA, n) for n in ("worker-a.json", "worker-b.json",
                                                 "worker-c-nopolicy.json")]
        page, report = report_html(tmp, "fixtures", small)
        check_page(tmp, "fixtures", page, report, small)
        test_console_detector(tmp, page)
        big = generated_cluster(tmp)
        page, report = report_html(tmp, "cluster", big, ["--add-pods", "10"])
        check_page(tmp, "cluster", page, report, big)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()
