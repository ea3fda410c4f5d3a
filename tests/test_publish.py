"""Publishing: the Pages workflow builds the whole book and the release archive, and the repository is named in one place."""

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


def test_the_repository_url_lives_in_config_only():
    url = CONFIG["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True)
    files = [n for n in listed.stdout.split() if (ROOT / n).is_file() and not n.startswith(("book/results/", "benchmarks/results/"))]
    holders = [name for name in files if url in (ROOT / name).read_text(errors="ignore")]
    assert holders == ["_config.yml"]
