"""Publishing: the Pages workflow builds the whole book and the release archive, the repository is named in one setting
(and in the address to cite), and a notebook page launches its notebook on Binder or Colab."""

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def test_the_workflow_builds_the_book_and_the_archive_from_the_repository_alone():
    build = steps("build")
    runs = [s.get("run", "") for s in build]
    assert any(r.startswith("make dist") for r in runs), "the archive comes from `make dist`, which builds the book"
    uses = {s["uses"].split("@")[0]: s.get("with", {}) for s in build if "uses" in s}
    assert "actions/cache" not in uses, "the book needs no dataset: the method notebook reads book/sample"
    assert uses["actions/upload-pages-artifact"]["path"] == "_build/html"
    assert uses["actions/upload-artifact"]["path"] == "dist/*.tar.gz"
    assert [s["uses"].split("@")[0] for s in steps("deploy")] == ["actions/deploy-pages"]
    assert "gh release upload" in steps("release")[-1]["run"]


def test_the_method_notebook_reads_the_sample_in_the_repository_and_catches_no_error():
    cells = json.loads((ROOT / "notebooks" / "method.ipynb").read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert re.findall(r"load_\w+\([^)]*\)", source) == ["load_sample(name, sample_dir)"]
    assert "download" not in source and "except" not in source and "skipped" not in source
    edition = yaml.safe_load((ROOT / "book" / "edition.yaml").read_text())
    assert edition["method"]["sample_dir"] == "book/sample" and set(edition["method"]["datasets"]) == {"mnist", "cifar10"}
    assert (ROOT / "book" / "sample" / "SHA256SUMS").read_text().split()[1::2] == ["mnist.npz", "cifar10.npz"]


def test_the_workflows_url_check_reads_the_configured_url():
    (check,) = [s["run"] for s in steps("build") if "repository.url" in s.get("run", "")]
    extract = check.splitlines()[0].split("=", 1)[1].strip().removeprefix("$(").removesuffix(")")
    done = subprocess.run(["bash", "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == CONFIG["repository"]["url"]


def test_the_workflows_check_of_the_cited_url_reads_the_edition_s_bibtex():
    (check,) = [s["run"] for s in steps("build") if "repository.url" in s.get("run", "")]
    (line,) = [x.strip() for x in check.splitlines() if x.strip().startswith("cited=")]
    extract = line.split("=", 1)[1].removeprefix("$(").removesuffix(")")
    done = subprocess.run(["bash", "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == CONFIG["repository"]["url"]


def test_the_repository_url_lives_in_config_and_in_the_address_to_cite_only():
    url = CONFIG["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True)
    files = [n for n in listed.stdout.split() if (ROOT / n).is_file() and not n.startswith(("book/results/", "benchmarks/results/"))]
    holders = [name for name in files if url in (ROOT / name).read_text(errors="ignore")]
    assert sorted(holders) == ["_config.yml", "book/cite.bib"]


def test_notebook_pages_have_binder_and_colab_launch_buttons():
    assert CONFIG["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["launch_buttons"].get("notebook_interface", "classic") in ("classic", "jupyterlab")
    assert CONFIG["repository"]["url"] and CONFIG["repository"]["branch"] == "main"
    assert (ROOT / "environment.yml").exists(), "Binder builds its image from environment.yml"


def tracked(path: str) -> bool:
    return subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def small_book(tmp_path_factory) -> Path:
    """A book of the repository's configuration with one notebook page, built as book/build.py builds (warnings as
    errors): the page from the executed copy book/executed/method.ipynb, as the real book's notebook pages."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.exists():
        pytest.skip("jupyter-book is not installed (the book extra)")
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_static", "book/_ext", "book/references.bib", "book/references.md", "notebooks/method.ipynb"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        copy(ROOT / name, root / name)
    (root / "book/executed").mkdir()
    shutil.copy(ROOT / "notebooks/method.ipynb", root / "book/executed/method.ipynb")
    (root / "book/intro.md").write_text("# A small book\n\nLeNet-5 {cite:p}`lecun1998gradient`, after {cite:t}`suzuki2017seed`.\n")
    linked = sorted(set(re.findall(r"\]\(\.\./(\w+)\.md", (ROOT / "notebooks/method.ipynb").read_text())))  # pages the notebook links to
    for name in linked:
        (root / f"book/{name}.md").write_text(f"# {name}\n")
    chapters = [{"file": f"book/{name}"} for name in linked] + [{"file": "book/executed/method"}, {"file": "book/references"}]
    toc = {"format": "jb-book", "root": "book/intro", "chapters": chapters}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    done = subprocess.run([str(jupyter_book), "build", str(root), "--warningiserror"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "_build" / "html"


def test_a_notebook_page_launches_the_notebook_of_the_repository(small_book):
    page = (small_book / "book/executed/method.html").read_text()
    links = set(re.findall(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)/[^"]+)"', page))
    org_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    assert links == {
        f"https://mybinder.org/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/notebooks/method.ipynb",
        f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/notebooks/method.ipynb",
    }
    assert tracked("notebooks/method.ipynb") and not tracked("book/executed/method.ipynb")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("book/executed/")]
    sources = [p.replace("book/executed/", "notebooks/") + ".ipynb" for p in pages]
    assert sources and all(tracked(s) for s in sources), "every notebook page has its notebook in the repository"


def test_the_bibliography_is_labelled_author_year_as_the_citations(small_book):
    text = re.sub(r"<[^>]+>", "", (small_book / "book/intro.html").read_text())
    assert "LeNet-5 [LeCun et al., 1998], after Suzuki et al. [2017]." in " ".join(text.split())
    references = re.sub(r"<[^>]+>", "", (small_book / "book/references.html").read_text())
    assert "[LeCun et al., 1998]" in references and "[Suzuki et al., 2017]" in references and "n.d." not in references


def test_binder_starts_each_notebook_at_the_repository_root(tmp_path):
    """postBuild (run by Binder after environment.yml) makes every kernel start where the notebooks' paths lead."""
    post = ROOT / "postBuild"
    assert os.access(post, os.X_OK)
    subprocess.run(["bash", str(post)], cwd=ROOT, env={**os.environ, "HOME": str(tmp_path)}, check=True)
    (startup,) = (tmp_path / ".ipython/profile_default/startup").glob("*.py")
    code = f"exec(open({str(startup)!r}).read()); import os; print(os.getcwd())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "notebooks", capture_output=True, text=True, check=True)
    assert Path(done.stdout.strip()) == ROOT


def imported(source: str) -> set[str]:
    """The top-level modules a piece of Python imports (IPython's ! and % lines dropped)."""
    tree = ast.parse("\n".join(x for x in source.splitlines() if not x.lstrip().startswith(("!", "%"))))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return {n.split(".")[0] for n in names}


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r.strip(), maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_environment_yml_alone_installs_every_import_of_the_notebooks():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "-e ." in pip, "the package itself, from the repository"
    pinned = requirement_names([p for p in pip if not p.startswith("-")])
    dependencies = (ROOT / "pyproject.toml").read_text().split("dependencies = [", 1)[1].split("]", 1)[0]
    own = requirement_names(re.findall(r'"([^"]+)"', dependencies))  # what `-e .` installs
    # what the pinned distributions bring with them, as installed here
    closure, todo = set(), pinned | own
    while todo:
        name = todo.pop()
        closure.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo |= requirement_names([r for r in requires if "extra ==" not in r]) - closure
    modules = set()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        modules |= imported("\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"))
    local = {"seedinit"} | {p.stem for p in (ROOT / "benchmarks").glob("*.py")}  # the package (-e .) and benchmarks/ (sys.path)
    for name in local & modules - {"seedinit"}:
        modules |= imported((ROOT / "benchmarks" / f"{name}.py").read_text())
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(modules - local - set(sys.stdlib_module_names)):
        provided = requirement_names(distributions.get(module, [module]))
        if not provided & closure:
            missing[module] = provided
    assert missing == {}
