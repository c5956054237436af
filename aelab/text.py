"""Untrusted text (checkpoint messages, file and column names, link values) shown literally, never as markup.

Streamlit renders st.markdown, st.caption, st.error, ... as Markdown (links, images, emphasis, HTML, LaTeX,
`:color[...]`); plotly renders labels as a small HTML subset (`<a href>`, `<b>`). These two functions turn any
string into text that both show character for character, so a name like `[x](http://evil)` stays a name.
"""
from __future__ import annotations

import html
import re
import string
import unicodedata

_PUNCTUATION = frozenset(string.punctuation)  # CommonMark lets every ASCII punctuation character be escaped
WORD_JOINER = "\u2060"  # invisible, zero width, no line break: splits what GFM would turn into a link
# GFM's autolink literals (remark-gfm, which Streamlit uses) are found in the text *after* escapes are resolved:
# "http://...", "https://...", "www.x" and "a@b.c" become links even when every character is escaped.
_AUTOLINK = re.compile(r"(?<=[a-z])(?=://)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def _one_line(value) -> str:
    """Control characters (line breaks, tabs, escapes) become spaces: a name cannot start a Markdown block."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(value))


def md(value) -> str:
    """`value` for use inside Markdown (st.markdown, st.caption, st.error, ...): shown literally, on one line.

    Every ASCII punctuation character is backslash-escaped (CommonMark, section 2.4), so no link, image, emphasis,
    HTML tag, table, heading, LaTeX or Streamlit directive can start inside it; an invisible word joiner before
    "://", after "www" and before "@" keeps GFM from turning addresses into links.
    """
    joined = _AUTOLINK.sub(WORD_JOINER, _one_line(value))
    return "".join("\\" + c if c in _PUNCTUATION else c for c in joined)


def label(value) -> str:
    """`value` for a plotly label, title or hover text: HTML-escaped, so plotly shows the tags as text."""
    return html.escape(_one_line(value), quote=False)
