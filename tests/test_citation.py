"""Citation metadata: CITATION.cff (GitHub's "Cite this repository") and .zenodo.json (a Zenodo deposit) agree, and
both name the replicated paper."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text())
ZENODO = json.loads((ROOT / ".zenodo.json").read_text())
PAPER = "Efficient Weight Initialization of Convolutional Neural Networks based on the Effectiveness for Target Tasks"
# Zenodo's deposit metadata (developers.zenodo.org, "Deposit metadata"): the upload types and creator fields it accepts
UPLOAD_TYPES = {"publication", "poster", "presentation", "dataset", "image", "video", "software", "lesson", "physicalobject", "other"}


def cffconvert(*args: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "cffconvert"), "-i", str(ROOT / "CITATION.cff"), *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_citation_cff_is_valid():
    done = cffconvert("--validate")
    assert done.returncode == 0 and "valid" in done.stdout, done.stdout + done.stderr


def test_the_citation_names_the_paper_it_replicates():
    (paper,) = [r for r in CFF["references"] if r["title"] == PAPER]
    assert [a["family-names"] for a in paper["authors"]] == ["Suzuki", "Shouno", "Sakanashi"]
    assert "replicat" in CFF["message"] and PAPER in CFF["title"]


def test_zenodo_metadata_is_a_valid_deposit():
    assert ZENODO["upload_type"] in UPLOAD_TYPES
    assert ZENODO["title"] and ZENODO["description"] and ZENODO["license"]
    assert ZENODO["creators"] and all(c.get("name") for c in ZENODO["creators"])
    allowed = {"title", "description", "upload_type", "creators", "license", "version", "keywords", "references", "notes",
               "related_identifiers", "language", "access_right", "publication_date", "contributors"}  # fmt: skip
    assert set(ZENODO) <= allowed, set(ZENODO) - allowed


def test_zenodo_and_cff_agree_and_both_name_the_paper():
    converted = json.loads(cffconvert("-f", "zenodo").stdout)
    for key in ("title", "version"):
        assert ZENODO[key] == converted[key], key
    assert [c["name"] for c in ZENODO["creators"]] == [c["name"] for c in converted["creators"]]
    assert ZENODO["license"].lower() == CFF["license"].lower()
    assert any(PAPER in r and "Suzuki" in r for r in ZENODO["references"])
    assert PAPER in ZENODO["description"]


def test_one_version_everywhere():
    (line,) = [x for x in (ROOT / "pyproject.toml").read_text().splitlines() if x.startswith("version = ")]
    assert line == f'version = "{CFF["version"]}"' and ZENODO["version"] == CFF["version"]
