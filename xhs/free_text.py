"""Text people type into our forms (comments, report notes, appeals), kept to what a reader can see.

A comment is shown to every shopper. Control characters (a terminal escape, NUL, which PostgreSQL
cannot store), bidirectional overrides and isolates (U+202E turns "5 stars" around on the page and in
the admin) and invisible characters (zero-width space, word joiner, byte order mark) have no honest
use in it; they are removed before the form validates, so nothing a person could see is lost. Tab and
line breaks stay; the zero-width joiner and non-joiner stay too (emoji sequences and several scripts
need them).
"""

import re
from typing import Any

from django import forms

#: C0 controls but tab and line breaks, DEL and the C1 controls; bidi embeddings, overrides, isolates
#: and marks; zero-width space, word joiner and invisible operators; the byte order mark.
HIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def visible_text(value: str) -> str:
    """``value`` without the characters in ``HIDDEN``."""
    return HIDDEN.sub("", value)


class FreeTextField(forms.CharField):
    """A ``CharField`` for text other people will read: hidden characters removed before validation,
    so the length limit counts what is shown."""

    def to_python(self, value: Any) -> str | None:
        # before the field strips spaces: a space behind a hidden character is still at the edge
        return super().to_python(visible_text(value) if isinstance(value, str) else value)
