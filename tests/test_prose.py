"""What the book's prose pages say in words, checked against the records and the code they describe.

The numbers of the abstract are glued from the analysis notebook (a missing one fails the
build); what cannot be glued, a page title and the protocol's settings, is checked here.
"""

import re
from pathlib import Path

import pytest

from seedinit import Config, load_records
from seedinit.replication import protocol
from seedinit.replication.prose import headline
from seedinit.replication.tables import delta_choice, runs_frame

ROOT = Path(__file__).resolve().parents[1]
INTRO = (ROOT / "book" / "intro.md").read_text()
METHOD = (ROOT / "book" / "method.md").read_text()
GLUED = ("answer", "claims_said", "best_init", "msra_mnist10")
PAPER_SAYS = "98.71 %"  # the paper's own MSRA baseline, quoted beside this edition's


@pytest.fixture(scope="module")
def numbers() -> dict:
    df = runs_frame(load_records(ROOT / "book" / "results"))
    return headline(df, delta_choice(df, "val_q34"))


def test_the_title_marks_the_replication_as_failed_unless_most_claims_reproduced(numbers):
    """ReScience C's convention: "[Re]" for a successful replication, "[¬Re]" for a failed one; this book calls it
    successful when more than half of the paper's claims reproduced."""
    title = INTRO.splitlines()[0]
    expected = "[Re]" if 2 * numbers["claims_reproduced"] > numbers["claims_total"] else "[¬Re]"
    assert title.startswith(f"# {expected} "), (title, numbers)


def test_the_abstract_glues_its_numbers_from_the_analysis_and_types_none():
    abstract = INTRO.split("## Reproducibility summary", 1)[1].split("\n## ", 1)[0]
    for key in GLUED:
        assert f"{{glue:text}}`executed/analysis.ipynb::{key}:" in abstract, key
    assert "```{glue} abstract_table\n:doc: executed/analysis.ipynb\n```" in abstract, "the abstract's table is the records'"
    prose = re.sub(r"\{glue:text\}`[^`]*`", "", abstract).replace(PAPER_SAYS, "")
    assert set(re.findall(r"\d+(?:\.\d+)? ?%", prose)) <= {"1 %", "10 %"}, "no percentage but the paper's ratios"
    assert re.findall(r"\d\.\d", prose) == [], "no decimal number"


def test_the_method_states_the_protocols_settings_as_the_code_has_them():
    for ratio, words in ((0.01, "r = 1 %"), (0.05, "5 %"), (0.1, "10 %")):
        assert f"{protocol.EPOCHS[ratio]} epochs at {words}" in METHOD or f"{protocol.EPOCHS[ratio]} at {words}" in METHOD
    c = Config()
    assert f"last P = {c.patience} epochs" in METHOD and f"W = {c.score_epochs} more epochs" in METHOD
    assert f"`rtol` = {c.rtol:g}" in METHOD and f"`atol` = {c.atol:g}" in METHOD
    assert all(cap == 5 * protocol.EPOCHS[r] for r, cap in protocol.CAP.items()), "five times the fixed schedule"
    assert f"val_fraction={protocol.VAL_FRACTION:g}" in METHOD and f"window={c.window:g}" in METHOD
