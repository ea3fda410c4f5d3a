"""The book built end to end on tiny recorded results, then checked in a real headless browser."""

import functools
import http.server
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import write_npz

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
EDITION = {
    "method": {"datasets": ["mnist"], "data_dir": "data", "ratio": 1.0},
    "experiment": {"datasets": ["mnist"], "ratios": [0.1], "studies": False, "run_missing": False, "data_dir": "data",
                   "results_dir": "book/results"},
    "analysis": {"results_dir": "book/results"},
    "performance": {"benchmarks_dir": "benchmarks/results", "results_dir": "book/results"},
}  # fmt: skip


def copy_book(dest: Path) -> Path:
    """The book's sources without its recorded results, as a clean clone would have them."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    shutil.copytree(ROOT / "book", dest / "book", ignore=shutil.ignore_patterns("results", "executed"))
    shutil.copytree(ROOT / "benchmarks", dest / "benchmarks", ignore=shutil.ignore_patterns("results", "__pycache__"))
    write_npz(dest / "data")
    return dest


def book(root: Path, edition: dict) -> subprocess.CompletedProcess:
    (root / "edition.yaml").write_text(yaml.safe_dump(edition))
    cmd = [sys.executable, str(ROOT / "book" / "build.py"), "--root", str(root), "--edition", str(root / "edition.yaml")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def record_tiny_protocol(root: Path) -> None:
    """Both stages of the protocol on the tiny data, shortened to 2 epochs and 2 deltas, as the book's records."""
    from concurrent.futures import ThreadPoolExecutor

    from seedinit import protocol
    from seedinit.sweep import pending, run_sweep

    out = root / "book" / "results"

    def sweep(configs):
        with ThreadPoolExecutor(1) as pool:
            run_sweep(pending(configs, out), str(out), str(root / "data"), pool)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(protocol, "EPOCHS", {0.1: 2})
        mp.setattr(protocol, "DELTAS", (0.3, 0.9))
        mp.setattr(protocol, "SEEDS", (0, 1))
        mp.setattr(protocol, "UNTIL_CONVERGED", {"stop": "converged", "patience": 1, "score_epochs": 2, "rtol": 1.0})  # converged at once
        mp.setattr(protocol, "CAP", {0.1: 6})
        protocol.reproduce(["mnist"], [0.1], out, sweep, studies=False, log=lambda _: None)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_book(tmp_path_factory.mktemp("book"))
    record_tiny_protocol(root)
    done = book(root, EDITION)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "_build" / "html"


def test_book_pages_results_and_claims_exist(built):
    for page in ("index.html", "book/intro.html", "book/method.html", "book/executed/method.html",
                 "book/executed/experiment.html", "book/executed/analysis.html", "book/executed/performance.html",
                 "book/references.html"):  # fmt: skip
        assert (built / page).exists(), page
    analysis = (built / "book/executed/analysis.html").read_text()
    assert "MSRA mean" in analysis and "p (Welch)" in analysis and "p (Holm)" in analysis
    assert "reproduced" in analysis or "not run" in analysis
    assert (built / "_static/mathjax/tex-chtml.js").exists()


def test_no_broken_internal_links(built):
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.targets = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            url = a.get("href") if tag in ("a", "link") else a.get("src") if tag in ("img", "script") else None
            if url and not url.startswith(("http:", "https:", "mailto:", "#", "data:", "javascript:")):
                self.targets.append(url.split("#")[0].split("?")[0])

    broken = []
    for page in (p for p in built.rglob("*.html") if "_static" not in p.parts):  # _static holds theme templates
        parser = Links()
        parser.feed(page.read_text())
        broken += [f"{page.relative_to(built)} -> {t}" for t in parser.targets if t and not (page.parent / t).exists()]
    assert broken == []


def test_citation_cff_is_valid():
    done = subprocess.run([str(Path(sys.executable).parent / "cffconvert"), "--validate", "-i", str(ROOT / "CITATION.cff")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and "valid" in done.stdout, done.stdout + done.stderr


def test_a_failing_notebook_fails_the_build_and_names_notebook_and_cell(tmp_path):
    root = copy_book(tmp_path)
    done = book(root, {**EDITION, "method": {"datasets": 5}})
    assert done.returncode == 1
    assert "notebooks/method.ipynb failed in cell" in done.stderr and "TypeError" in done.stderr


@pytest.fixture(scope="module")
def browser(built, tmp_path_factory):
    """Headless Chromium (Debian's package) on a local static server of the built HTML."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not Path("/usr/bin/chromium").exists() or not Path("/usr/bin/chromedriver").exists():
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    driver.base = f"http://127.0.0.1:{server.server_address[1]}/"
    yield driver
    driver.quit()
    server.shutdown()


def wait_for(driver, script, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if driver.execute_script(script):
            return True
        time.sleep(0.25)
    return False


def test_in_the_browser_tables_figures_equations_and_links(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(browser.base + "book/executed/analysis.html")
    rows = browser.execute_script(
        "return [...document.querySelectorAll('table')].filter(t => t.innerText.includes('MSRA mean'))"
        ".map(t => t.querySelectorAll('tbody tr').length)"
    )
    assert rows and rows[0] >= 1, "the Table-2 table has rows"
    browser.save_screenshot(str(ARTIFACTS / "analysis.png"))

    browser.get(browser.base + "book/executed/method.html")
    assert wait_for(browser, "return [...document.images].every(i => i.complete)")
    sizes = browser.execute_script("return [...document.querySelectorAll('main img')].map(i => i.naturalWidth)")
    assert len(sizes) >= 2 and all(w > 0 for w in sizes), sizes

    browser.get(browser.base + "book/method.html")
    assert wait_for(browser, "return document.querySelectorAll('mjx-container').length > 5"), "MathJax rendered the equations"
    raw = browser.execute_script("return document.querySelector('main').innerText")
    assert "\\varphi" not in raw and "\\mathcal" not in raw

    browser.get(browser.base + "index.html")
    assert wait_for(browser, "return document.querySelectorAll('nav.bd-docs-nav a').length > 5")
    browser.save_screenshot(str(ARTIFACTS / "index.png"))
    links = browser.execute_script("return [...document.querySelectorAll('nav.bd-docs-nav a')].map(a => a.href)")
    for link in links:
        status = browser.execute_script(
            "const r = new XMLHttpRequest(); r.open('GET', arguments[0], false); r.send(); return r.status", link
        )
        assert status == 200, link
    external = browser.execute_script(
        "return [...document.querySelectorAll('script[src], link[rel=stylesheet]')].map(e => e.src || e.href)"
        ".filter(u => !u.startsWith(location.origin))"
    )
    assert external == [], "the HTML works offline: no script or style from another host"
