"""The book's own Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``).

- **Author-year labels in the bibliography.** ``bibtex_reference_style: author_year`` writes a
  citation as "Suzuki et al., 2017", but the bibliography keeps the labels of its pybtex style
  (alpha: "SSS17"). The formatting style ``author_year_labels`` (``bibtex_default_style``) is
  pybtex's alpha style with each label built from the same parts as a parenthetical citation,
  so the two read the same.
"""

from __future__ import annotations

from typing import Any

from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import BasicAuthorYearParentheticalReferenceStyle
from sphinxcontrib.bibtex.style.template import join, year

STYLE = "author_year_labels"
_CITATION = BasicAuthorYearParentheticalReferenceStyle()  # the parts of author_year's parenthetical citation


def author_year(entry) -> str:
    """The text of a parenthetical citation of ``entry`` without its brackets: "Suzuki et al., 2017"."""
    template = join(sep=_CITATION.author_year_sep)[_CITATION.person.author_or_editor_or_title(full=False), year]
    return template.format_data({"entry": entry, "style": _CITATION}).render_as("text")


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield author_year(entry)


class AuthorYearLabelStyle(AlphaStyle):
    """pybtex's alpha style (its entries and its author-year-title order) with author-year labels."""

    default_label_style = AuthorYearLabels


def setup(app) -> dict[str, Any]:
    register_plugin("pybtex.style.formatting", STYLE, AuthorYearLabelStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
