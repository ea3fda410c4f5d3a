"""Publishing: the Pages workflow builds the whole book and the release archive, and the repository is named in one setting
(and in the address to cite)."""

import json
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def test_the_workflow_builds_the_book_and_the_archive_with_datasets_cached():
    build = steps("build")
    runs = [s.get("run", "") for s in build]
    assert any(r.startswith("make dist") for r in runs), "the archive comes from `make dist`, which builds the book"
    uses = {s["uses"].split("@")[0]: s.get("with", {}) for s in build if "uses" in s}
    assert uses["actions/cache"]["path"] == "data", "downloaded datasets are kept between runs"
    assert uses["actions/upload-pages-artifact"]["path"] == "_build/html"
    assert uses["actions/upload-artifact"]["path"] == "dist/*.tar.gz"
    assert [s["uses"].split("@")[0] for s in steps("deploy")] == ["actions/deploy-pages"]
    assert "gh release upload" in steps("release")[-1]["run"]


def test_the_method_notebook_downloads_what_is_missing():
    cells = json.loads((ROOT / "notebooks" / "method.ipynb").read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells)
    assert "download = True" in source
    assert re.findall(r"load_dataset\([^)]*\)", source) == ["load_dataset(name, data_dir, download=download)"]
    edition = yaml.safe_load((ROOT / "book" / "edition.yaml").read_text())
    assert edition["method"].get("download", True) is True


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
