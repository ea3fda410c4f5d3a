"""The product speaks of the paper, the method and the results, never of how the work on it was organised.

Scope: what a reader or user of the book and the package sees: the book's pages and
configuration, the notebooks' cells, the package, the benchmarks and their recorded
commands, README, citation metadata, Makefile and the publishing workflow. Not the tests
(they may name APIs such as ``start_new_session``) and not the run records (data).

Words: those of work organisation and machine allocation. Each pattern is a whole word or
phrase, case-insensitive, so identifiers such as ``use_issues_button`` do not match.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = re.compile(
    r"\b(sessions?|leases?|leased|lent|issues?|budgets?|work items?|tickets?|the brief|sprints?|deadlines?"
    r"|lead engineer|assignee|device time|llm|ai assistant|agents?)\b",
    re.IGNORECASE,
)
PATTERNS = (
    "book/*.md", "book/*.yaml", "book/*.py", "book/*.bib", "book/_ext/*.py", "book/results/*.md", "notebooks/*.ipynb", "seedinit/**/*.py",
    "benchmarks/*.py", "benchmarks/results/**/*.txt", "README.md", "CITATION.cff", ".zenodo.json", "_config.yml", "_toc.yml", "Makefile",
    "environment.yml", "postBuild", "pyproject.toml", ".github/workflows/*.yml", "_static/*.css",
)  # fmt: skip


def texts() -> dict[str, str]:
    """Each product file's text; for a notebook, its cells' sources only (outputs are computed from the records)."""
    out = {}
    for pattern in PATTERNS:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text()
            if path.suffix == ".ipynb":
                text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
            out[str(path.relative_to(ROOT))] = text
    return out


def test_the_scope_covers_the_product():
    files = texts()
    for name in ("book/intro.md", "book/discussion.md", "book/rerun.md", "book/cite.bib", "book/_ext/edition_sphinx.py", "postBuild",
                 "notebooks/analysis.ipynb", "seedinit/replication/cli.py", "README.md"):  # fmt: skip
        assert name in files, name
    assert len(files) > 30


def test_no_product_file_speaks_of_how_the_work_was_organised():
    found = [
        f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}" for name, text in texts().items() for m in WORDS.finditer(text)
    ]
    assert found == []


def test_the_word_list_catches_what_it_names():
    caught = "one 15-minute lease of a GPU; the session was cut off; targets of the issue; a lent machine; its budget"
    assert [m.group(0) for m in WORDS.finditer(caught)] == ["lease", "session", "issue", "lent", "budget"]
    assert WORDS.search("use_issues_button: true") is None
