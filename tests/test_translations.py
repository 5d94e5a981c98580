"""The Chinese site punctuates Chinese as Chinese: after a Chinese character a sentence or a label ends in a
full-width mark (。，？！：), never a half-width one ("请登录." reads as a slip).

What a reader sees is the translation in force: ours (``locale/``) where we give one, else the catalogue of
Django or allauth. A half-width mark in theirs is mended by an entry in ours, so the test reads every
message of those catalogues through Django's own ``gettext``.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import allauth
import django
from django.conf import settings
from django.utils import translation

#: A Chinese character (or a full-width mark such as ） or 」) directly followed by a half-width . , ? ! or :
HALF_WIDTH_AFTER_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef][.,?!:]")
#: Messages whose commas are syntax, not punctuation: the ``yesno`` filter splits its argument on them.
SYNTAX = {"yes,no,maybe"}

_PO = Path("zh_Hans") / "LC_MESSAGES" / "django.po"
CATALOGUES = {
    "ours": Path(settings.BASE_DIR) / "locale" / _PO,
    "allauth": Path(allauth.__file__).parent / "locale" / _PO,
    "django": Path(django.__file__).parent / "conf" / "locale" / _PO,
    "django.contrib.auth": Path(django.__file__).parent / "contrib" / "auth" / "locale" / _PO,
    "django.contrib.admin": Path(django.__file__).parent / "contrib" / "admin" / "locale" / _PO,
}


@dataclass
class Entry:
    msgid: str
    plural: str = ""
    context: str = ""


def _quoted(literal: str) -> str:
    """The value of a PO string literal: C escapes, which Python's string literals share."""
    return str(ast.literal_eval(literal))


def po_entries(text: str) -> list[Entry]:
    """The catalogue's live messages (obsolete ``#~`` entries and the header are left out). A line that
    continues a string adds to the keyword read last."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    keyword = ""

    def close() -> None:
        if fields.get("msgid"):
            entries.append(Entry(fields["msgid"], fields.get("msgid_plural", ""), fields.get("msgctxt", "")))
        fields.clear()

    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            fields[keyword] = fields.get(keyword, "") + _quoted(line)
            continue
        keyword, _, literal = line.partition(" ")
        keyword = "msgstr" if keyword.startswith("msgstr") else keyword  # msgstr[0], msgstr[1]: one is enough
        if keyword in ("msgctxt", "msgid") and "msgstr" in fields:
            close()
        fields[keyword] = fields.get(keyword, "") + _quoted(literal)
    close()
    return entries


def shown(entry: Entry) -> str:
    """What a reader of the Chinese site sees for the message: the translation in force."""
    if entry.plural:
        if entry.context:
            return translation.npgettext(entry.context, entry.msgid, entry.plural, 1)
        return translation.ngettext(entry.msgid, entry.plural, 1)
    return translation.pgettext(entry.context, entry.msgid) if entry.context else translation.gettext(entry.msgid)


def test_the_parser_reads_contexts_plurals_and_continued_escaped_strings() -> None:
    text = (
        '#: a.py:1\nmsgid ""\n"Sign in "\n"first."\nmsgstr ""\n"请先登录。"\n\n'
        'msgctxt "menu"\nmsgid "one \\"quote\\""\nmsgid_plural "many"\nmsgstr[0] "个"\n\n'
        '#~ msgid "gone"\n#~ msgstr "旧."\n'
    )
    assert po_entries(text) == [Entry("Sign in first."), Entry('one "quote"', plural="many", context="menu")]


def test_chinese_text_after_a_chinese_character_uses_full_width_punctuation() -> None:
    offenders = []
    with translation.override("zh-hans"):
        for source, path in CATALOGUES.items():
            for entry in po_entries(path.read_text(encoding="utf-8")):
                text = shown(entry)
                if entry.msgid not in SYNTAX and HALF_WIDTH_AFTER_CJK.search(text):
                    offenders.append(f"[{source}] {entry.msgid!r} is shown as {text!r}")
    assert not offenders, "mend these in locale/zh_Hans/LC_MESSAGES/django.po:\n" + "\n".join(offenders)
