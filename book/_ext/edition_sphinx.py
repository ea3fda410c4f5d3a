"""The book's own Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``).

- **Author-year labels in the bibliography.** ``bibtex_reference_style: author_year`` writes a
  citation as "Suzuki et al., 2017", but the bibliography keeps the labels of its pybtex style
  (alpha: "SSS17"). The formatting style ``author_year_labels`` (``bibtex_default_style``) is
  pybtex's alpha style with each label built from the same parts as a parenthetical citation,
  so the two read the same.
- **Launch buttons that open the notebook of the repository.** A notebook page is built from
  the executed copy ``book/executed/<name>.ipynb`` that ``book/build.py`` writes (not tracked),
  so the theme's Binder and Colab links, ``<path_to_book>/<page>.ipynb``, would name a file the
  repository does not hold. They are pointed at ``notebooks/<name>.ipynb``, the notebook itself.
"""

from __future__ import annotations

from typing import Any

from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import BasicAuthorYearParentheticalReferenceStyle
from sphinxcontrib.bibtex.style.template import join, year

STYLE = "author_year_labels"
EXECUTED, SOURCE = "book/executed/", "notebooks/"  # where book/build.py writes a notebook, and where it reads it from
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


def repository_path(url: str) -> str:
    """A launch URL with the executed copy of a notebook replaced by the notebook in the repository."""
    return url.replace(EXECUTED, SOURCE)


def launch_from_repository(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if "url" in button:
                    button["url"] = repository_path(button["url"])


def setup(app) -> dict[str, Any]:
    register_plugin("pybtex.style.formatting", STYLE, AuthorYearLabelStyle, force=True)
    # after sphinx-book-theme's own handler (priority 501), which adds the launch buttons
    app.connect("html-page-context", launch_from_repository, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
