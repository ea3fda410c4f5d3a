"""Citation metadata: CITATION.cff (GitHub's "Cite this repository"), .zenodo.json (a Zenodo deposit) and the edition's
BibTeX entry on the book's first page (book/cite.bib) agree, and all name the replicated paper, of 2017; the book cites
author-year, its bibliography labelled as its citations read."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text())
ZENODO = json.loads((ROOT / ".zenodo.json").read_text())
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
INTRO = (ROOT / "book" / "intro.md").read_text()
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


def pyproject_version() -> str:
    (line,) = [x for x in (ROOT / "pyproject.toml").read_text().splitlines() if x.startswith("version = ")]
    return line.removeprefix("version = ").strip('"')


def test_one_version_everywhere():
    assert pyproject_version() == CFF["version"] == ZENODO["version"]


def bibtex(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The entries of a BibTeX file written one field a line: key -> (type, fields), each value without its outer braces
    (and without the braces that protect a whole value, as ``{{the seedinit contributors}}``)."""
    entries = {}
    for kind, key, body in re.findall(r"^@(\w+)\{([^,\s]+),\n(.*?)^\}", text, re.M | re.S):
        fields = dict(re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$", body, re.M))
        entries[key] = kind, {k: v[1:-1] if v.startswith("{") and v.endswith("}") else v for k, v in fields.items()}
    return entries


def literalincludes(page: str) -> list[tuple[str, str]]:
    """What each ``literalinclude`` of a MyST page shows: (file, the lines it selects), with Sphinx's start-at and
    end-before (the first line holding the string; the end searched from the start)."""
    shown = []
    for name, options in re.findall(r"^```\{literalinclude\} (\S+)\n((?::[\w-]+:.*\n)*)```", page, re.M):
        opts = dict(re.findall(r"^:([\w-]+): *(.*)$", options, re.M))
        assert set(opts) <= {"language", "start-at", "end-before"}, opts
        lines = (ROOT / "book" / name).read_text().splitlines(keepends=True)
        start = next(i for i, x in enumerate(lines) if opts["start-at"] in x) if "start-at" in opts else 0
        end = next(i for i, x in enumerate(lines) if i > start and opts["end-before"] in x) if "end-before" in opts else len(lines)
        shown.append((name, "".join(lines[start:end])))
    return shown


EDITION = bibtex((ROOT / "book" / "cite.bib").read_text())
REFERENCES = bibtex((ROOT / "book" / "references.bib").read_text())


def test_the_book_shows_the_bibtex_of_the_edition_and_of_the_paper():
    how = INTRO.split("## How to cite", 1)[1]
    shown = literalincludes(how)
    assert [name for name, _ in shown] == ["cite.bib", "references.bib"]
    assert [list(bibtex(text)) for _, text in shown] == [["seedinit2026"], ["suzuki2017seed"]]
    assert all(text.rstrip().endswith("}") for _, text in shown), "each entry is shown whole"
    assert "{cite:t}`suzuki2017seed`" in how


def test_both_bib_files_are_valid_bibtex():
    database = pytest.importorskip("pybtex.database")
    for name, parsed in (("cite.bib", EDITION), ("references.bib", REFERENCES)):
        data = database.parse_file(str(ROOT / "book" / name))
        assert list(data.entries) == list(parsed), name
        for key, (_, fields) in parsed.items():
            assert set(data.entries[key].fields) | set(data.entries[key].persons) == set(fields), (name, key)


def test_the_editions_bibtex_says_what_cff_and_zenodo_say():
    ((kind, fields),) = EDITION.values()
    assert kind == "software"
    assert fields["title"] == CFF["title"] == ZENODO["title"]
    assert fields["author"] == " and ".join(a["name"] for a in CFF["authors"]) == " and ".join(c["name"] for c in ZENODO["creators"])
    assert fields["version"] == pyproject_version() == CFF["version"] == ZENODO["version"]
    assert fields["license"] == CFF["license"] == ZENODO["license"]
    assert fields["year"] == str(CONFIG["copyright"]), "the edition's year is the book's"
    assert fields["url"] == CONFIG["repository"]["url"]
    converted = cffconvert("-f", "bibtex").stdout  # GitHub's "Cite this repository" gives this BibTeX
    assert f"author = {{{fields['author']}}}" in converted and f"title = {{{fields['title']}}}" in converted, converted


def test_the_paper_is_of_2017_everywhere():
    kind, paper = REFERENCES["suzuki2017seed"]
    assert kind == "techreport" and paper["year"] == "2017" and paper["title"] == PAPER
    assert "n.d." not in (ROOT / "book" / "references.bib").read_text() and "not stated" not in paper.get("note", "")
    (cff,) = [r for r in CFF["references"] if r["title"] == PAPER]
    assert cff["year"] == 2017
    assert [a["family-names"] for a in cff["authors"]] == re.findall(r"(\w+), \w+", paper["author"])
    (zenodo,) = [r for r in ZENODO["references"] if PAPER in r]
    assert "(2017)" in zenodo and "2017" in ZENODO["description"] and "2017" in CFF["abstract"]


def citations() -> list[tuple[str, str, str]]:
    """Every citation of the book: (page, role, key), from its Markdown pages and its notebooks' Markdown cells."""
    pages = {p.relative_to(ROOT).as_posix(): p.read_text() for p in sorted((ROOT / "book").glob("*.md"))}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        pages[nb.relative_to(ROOT).as_posix()] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [(page, role, key.strip()) for page, text in pages.items()
            for role, keys in re.findall(r"\{(cite(?::\w+)?)\}`([^`]*)`", text) for key in keys.split(",")]  # fmt: skip


def test_the_book_cites_author_year_keys_it_holds():
    found = citations()
    assert len(found) >= 10
    # {cite} is sphinxcontrib-bibtex's {cite:p}: "[Suzuki et al., 2017]"; {cite:t} reads "Suzuki et al. [2017]"
    assert {role for _, role, _ in found} <= {"cite", "cite:p", "cite:t"}, found
    assert {key for _, _, key in found} <= set(REFERENCES), set(REFERENCES)
    assert all(fields.get("year", "").isdigit() for _, fields in REFERENCES.values()), "an author-year citation needs a year"
    assert CONFIG["sphinx"]["config"]["bibtex_reference_style"] == "author_year"


def test_the_bibliography_is_labelled_as_its_citations_read():
    database = pytest.importorskip("pybtex.database")
    pytest.importorskip("sphinxcontrib.bibtex")
    ((name, path),) = CONFIG["sphinx"]["local_extensions"].items()
    sys.path.insert(0, str(ROOT / path))
    try:
        extension = __import__(name)
    finally:
        sys.path.remove(str(ROOT / path))
    assert CONFIG["sphinx"]["config"]["bibtex_default_style"] == extension.STYLE
    style = extension.AuthorYearLabelStyle()
    entries = style.sort(database.parse_file(str(ROOT / "book" / "references.bib")).entries.values())
    labels = {e.key: label for e, label in zip(entries, style.format_labels(entries))}
    assert labels["suzuki2017seed"] == "Suzuki et al., 2017"
    assert labels["kingma2015adam"] == "Kingma and Ba, 2015"
    assert labels["fukushima1980neocognitron"] == "Fukushima, 1980"
    assert len(set(labels.values())) == len(labels) == len(REFERENCES)
