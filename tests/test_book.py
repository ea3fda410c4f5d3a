"""The book built end to end on tiny recorded results, then checked in a real headless browser at a desktop and a phone width."""

import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import write_npz

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
EDITION = {
    "method": {"datasets": ["mnist"], "sample_dir": "book/sample"},
    "experiment": {"datasets": ["mnist"], "ratios": [0.1], "deltas": "protocol", "studies": False, "train": False, "data_dir": "data",
                   "results_dir": "book/results"},
    "analysis": {"results_dir": "book/results"},
    "performance": {"benchmarks_dir": "benchmarks/results", "results_dir": "book/results"},
    "comparison": {"results_dir": "book/results"},
}  # fmt: skip
GLUE = re.compile(r"\{glue:text\}`executed/(analysis|comparison)\.ipynb::(\w+):([^`]*)`")
WIDTHS = {"desktop": (1400, 1000), "phone": (390, 844)}
PAGES = (
    "book/intro.html",
    "book/method.html",
    "book/executed/method.html",
    "book/executed/experiment.html",
    "book/executed/analysis.html",
    "book/executed/performance.html",
    "book/executed/comparison.html",
    "book/discussion.html",
)  # those not built are skipped
PROSE = ("book/intro.html", "book/discussion.html")  # pages that may hold no table or figure
# Names only the code knows, as a reader would meet them in prose, tables or captions (code blocks aside).
INTERNAL = re.compile(
    r"\b(mnist|cifar10|cifar100|fashion_mnist|table2|q34|val_q34|wall_s|ms_per_step|results_dir|val_fraction)\b"
    r"|seed\[|delta-grid|study:\w|window=|ratio = 0\.|dataset = "
)


def copy_book(dest: Path) -> Path:
    """The book's sources without its recorded results, as a clean clone would have them."""
    for name in ("_config.yml", "_toc.yml", "CITATION.cff", ".zenodo.json", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "_static", dest / "_static")
    shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    shutil.copytree(ROOT / "book", dest / "book", ignore=shutil.ignore_patterns("results", "executed"))
    shutil.copytree(ROOT / "benchmarks", dest / "benchmarks", ignore=shutil.ignore_patterns("results", "__pycache__"))
    write_npz(dest / "data")
    return dest


def book(root: Path, edition: dict, *flags: str) -> subprocess.CompletedProcess:
    (root / "edition.yaml").write_text(yaml.safe_dump(edition))
    cmd = [sys.executable, str(ROOT / "book" / "build.py"), "--root", str(root), "--edition", str(root / "edition.yaml"), *flags]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def record_tiny_protocol(root: Path) -> None:
    """Both stages of the protocol on the tiny data, shortened to 2 epochs and 2 deltas, as the book's records."""
    from concurrent.futures import ThreadPoolExecutor

    from seedinit.replication import protocol
    from seedinit.replication.sweep import pending, run_sweep

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
    done = book(root, EDITION, "--dist", str(root / "dist"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "_build" / "html"


@pytest.fixture(scope="module")
def abstract(built) -> list[tuple[str, str]]:
    """The abstract's glued values as the page must show them, each with its notebook: each glued key of book/intro.md,
    formatted as it asks, from the headline of the records the book was built from."""
    from seedinit import load_records
    from seedinit.replication import protocol
    from seedinit.replication.prose import headline
    from seedinit.replication.tables import delta_choice, runs_frame

    df = runs_frame(load_records(built.parents[1] / "book" / "results"))
    numbers = {"analysis": headline(df, delta_choice(df, "val_q34"), planned=len(protocol.SEEDS))}
    summary = (ROOT / "book" / "intro.md").read_text().split("## Reproducibility summary", 1)[1].split("\n## ", 1)[0]
    return [(notebook, format(numbers[notebook][key], fmt)) for notebook, key, fmt in GLUE.findall(summary)]


def test_book_pages_results_and_claims_exist(built):
    for page in ("index.html", "book/intro.html", "book/method.html", "book/executed/method.html",
                 "book/executed/experiment.html", "book/executed/analysis.html", "book/executed/performance.html",
                 "book/references.html"):  # fmt: skip
        assert (built / page).exists(), page
    analysis = (built / "book/executed/analysis.html").read_text()
    assert "MSRA mean" in analysis and "p (Welch)" in analysis and "p (Holm)" in analysis
    assert "reproduced" in analysis or "not run" in analysis
    assert (built / "_static/mathjax/tex-chtml.js").exists()


def test_the_abstract_shows_the_numbers_of_the_records(built, abstract):
    page = (built / "book/intro.html").read_text()
    summary = page.split('id="reproducibility-summary"', 1)[1].split("</section>", 1)[0]
    assert len(abstract) >= 4 and 'class="abstract"' in summary, "three sentences and the table"
    assert re.findall(r'<span class="pasted-text">([^<]*)</span>', summary) == [html.escape(text, quote=False) for _, text in abstract]


def test_each_executed_notebook_has_one_parameters_cell_holding_the_values_that_ran(built):
    executed = built.parents[1] / "book" / "executed"
    for name, parameters in EDITION.items():
        cells = json.loads((executed / f"{name}.ipynb").read_text())["cells"]
        tags = [t for c in cells for t in c["metadata"].get("tags", [])]
        assert tags.count("parameters") == 1 and "injected-parameters" not in tags, name
        source = "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])
        for key, value in parameters.items():
            assert f"{key} = {value!r}".replace("'", '"') in source, (name, key)


def test_the_release_archive_holds_the_html_and_the_records(built):
    version = yaml.safe_load((ROOT / "CITATION.cff").read_text())["version"]
    with tarfile.open(built.parents[1] / "dist" / f"seedinit-{version}.tar.gz") as tar:
        names = tar.getnames()
    top = f"seedinit-{version}"
    assert {f"{top}/html/index.html", f"{top}/html/book/executed/analysis.html", f"{top}/CITATION.cff"} <= set(names)
    records = [n for n in names if n.startswith(f"{top}/book/results/") and n.endswith(".json")]
    assert len(records) == len(list((built.parents[1] / "book" / "results").glob("*.json"))) > 0


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


def show(browser, page: str, width: str) -> None:
    """Load ``page`` at one of WIDTHS (a phone width as a mobile viewport) and wait for its images."""
    w, h = WIDTHS[width]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})
    browser.get(browser.base + page)
    assert wait_for(browser, "return document.readyState === 'complete' && [...document.images].every(i => i.complete)")


# Every table, image, figure and code block of the page's article whose visible box (its own, or that of the nearest
# ancestor that scrolls or clips it sideways) leaves the article's content box, or (with arguments[0]) that an ancestor
# scrolls sideways; and the page's own scroll width.
OVERFLOW = """
const article = document.querySelector('article.bd-article'), r = article.getBoundingClientRect(), s = getComputedStyle(article);
const left = r.left + parseFloat(s.paddingLeft), right = r.right - parseFloat(s.paddingRight), out = [];
let measured = 0;
for (const el of article.querySelectorAll('table, img, figure, svg, pre')) {
  let box = el.getBoundingClientRect();
  if (box.width === 0) continue;
  measured += 1;
  let hidden = 0;  // what a scrolling or clipping ancestor keeps out of sight
  for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) {
      box = a.getBoundingClientRect(), hidden = a.scrollWidth - a.clientWidth;
      break;
    }
  }
  const what = `${el.tagName} ${Math.round(box.left)}..${Math.round(box.right)}`;
  if (box.left < left - 1 || box.right > right + 1) out.push(what);
  else if (arguments[0] && hidden > 1 && el.tagName !== 'PRE') out.push(`${what} scrolls ${hidden} px`);  // code may scroll
}
return {overflowing: out, measured: measured, page: document.documentElement.scrollWidth, view: innerWidth};
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_no_table_or_figure_overflows_its_column(browser, built, page, width):
    if not (built / page).exists():
        pytest.skip(f"{page} is not part of this build")
    show(browser, page, width)
    found = browser.execute_script(OVERFLOW, width == "desktop" or page == "book/intro.html")  # a phone may scroll wide results
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{Path(page).stem}-{WIDTHS[width][0]}px.png"))
    assert found["measured"] > 0 or page in PROSE, "the page has tables or figures to measure"
    assert found["overflowing"] == [] and found["page"] <= min(found["view"], WIDTHS[width][0]), found  # a phone's view grows with the page


# The page's article as a reader reads it: its text outside code, and each image without a figure caption.
READER_VIEW = """
const article = document.querySelector('article.bd-article'), copy = article.cloneNode(true);
copy.querySelectorAll('pre, code, .cell_input, script, style, mjx-container').forEach(e => e.remove());
const bare = [...article.querySelectorAll('img')].filter(i => !i.closest('figure')?.querySelector('figcaption'));
return {text: copy.textContent, uncaptioned: bare.map(i => i.alt || i.src.slice(-40))};
"""


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_has_a_caption_and_no_page_shows_internal_names(browser, built, page):
    if not (built / page).exists():
        pytest.skip(f"{page} is not part of this build")
    show(browser, page, "desktop")
    seen = browser.execute_script(READER_VIEW)
    assert seen["uncaptioned"] == [], "every figure has a number and a caption"
    names = sorted({m.group(0) for m in INTERNAL.finditer(seen["text"])})
    assert names == [], f"{page} shows names only the code knows: {names}"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_abstract_states_the_numbers_on_the_first_screen(browser, abstract, width):
    show(browser, "book/intro.html", width)
    spans = browser.execute_script(
        "return [...document.querySelectorAll('#reproducibility-summary .pasted-text')]"
        ".map(e => [e.innerText, e.getBoundingClientRect().top, innerHeight])"
    )
    assert [text for text, _, _ in spans] == [text for _, text in abstract]
    on_screen = [top < height for (_, top, height), (notebook, _) in zip(spans, abstract) if notebook == "analysis"]
    assert on_screen[0] and (width == "phone" or on_screen[1]), "the replication's verdict is on the first screen"


def test_code_inputs_on_the_analysis_page_are_collapsed_one_click_away(browser):
    show(browser, "book/executed/analysis.html", "desktop")
    shown = "return [...document.querySelectorAll('article .cell_input')].map(e => e.checkVisibility())"  # closed <details> hide it
    inputs = browser.execute_script(shown)
    assert len(inputs) >= 5 and not any(inputs), "every code input of the analysis is collapsed"
    browser.execute_script("document.querySelector('article details.above-input > summary').click()")
    assert sum(browser.execute_script(shown)) == 1, "one click shows one cell's code"


def test_in_the_browser_tables_figures_equations_and_links(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    show(browser, "book/executed/analysis.html", "desktop")
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
