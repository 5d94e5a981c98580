"""What a display name may be: the name shown next to a person's ratings and notes.

A name is normalised (NFKC: full-width and compatibility forms become their plain letters; runs of
spaces become one) and refused when it

* carries characters a reader cannot see or that reorder what they read: controls, format characters
  (zero-width spaces and joiners, bidi embeddings, overrides and isolates, the BOM), private-use,
  unassigned and surrogate code points;
* resembles a staff or system name: a reserved word ("admin", "staff", "system", "moderator",
  "official" …) as a word of the name, the site's name ("Little Red Heart", "小红心") or a reserved
  Chinese term ("官方", "管理员", "客服" …) anywhere in it, or a staff member's display name; compared
  after case folding, with look-alike Cyrillic and Greek letters and digits read as Latin letters
  ("аdm1n" is "admin") and separators ignored ("A.d.m.i.n").

Only names people choose for themselves pass through here (sign-up); staff name accounts in the admin.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User

MAX_LENGTH = 60

#: Unicode categories a name must not contain: controls, format (ZWSP, ZWJ, LRM/RLM, bidi embeddings,
#: overrides and isolates, BOM, soft hyphen), surrogates, private use, unassigned; line/paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

#: Reserved as a word of the name (Latin script, after folding).
RESERVED_WORDS = frozenset(
    {
        "admin",
        "admins",
        "administrator",
        "administrators",
        "sysadmin",
        "staff",
        "system",
        "moderator",
        "moderators",
        "official",
        "support",
        "xhs",
    }
)
#: Reserved anywhere in the name (the site's names, and Chinese terms, which have no word breaks).
RESERVED_ANYWHERE = (
    "littleredheart",
    "xiaohongxin",
    "小红心",
    "小紅心",
    "官方",
    "管理员",
    "管理員",
    "客服",
    "系统",
    "系統",
    "版主",
    "运营",
    "運營",
)

#: Letters from other scripts that look like Latin ones, and digits used as letters.
_LOOK_ALIKE = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ɑ": "a",
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "0": "o",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
    }
)
# "1" reads as "i" (adm1n) or as "l" (officia1): both readings are tried.
_ONE_READINGS = ("i", "l")
_WORDS = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _readings(text: str) -> list[str]:
    folded = text.casefold().translate(_LOOK_ALIKE)
    return [folded.replace("1", one) for one in _ONE_READINGS]


def skeleton(name: str) -> str:
    """The name as compared: folded, look-alikes read as Latin, only letters and digits (first reading)."""
    return "".join(_WORDS.findall(_readings(unicodedata.normalize("NFKC", name))[0]))


def _resembles_reserved(name: str) -> bool:
    for reading in _readings(_CAMEL.sub(" ", name)):
        words = _WORDS.findall(reading)
        squashed = "".join(words)
        if RESERVED_WORDS & set(words) or squashed in RESERVED_WORDS:
            return True
        if any(term in squashed for term in RESERVED_ANYWHERE):
            return True
    return False


def _resembles_staff(name: str) -> bool:
    mine = skeleton(name)
    staff_names = User.objects.filter(is_staff=True).exclude(display_name="").values_list("display_name", flat=True)
    return any(skeleton(other) == mine for other in staff_names)


def display_name_clean(value: str) -> str:
    """The normalised name, or ValidationError saying why it is refused (codes: invisible, too_long, reserved)."""
    normalised = unicodedata.normalize("NFKC", value)
    # Checked before spaces are collapsed: str.split() would silently drop some controls.
    if any(unicodedata.category(char) in REFUSED_CATEGORIES for char in normalised):
        raise ValidationError(
            _("Display names cannot contain invisible characters or characters that change the reading direction."),
            code="invisible",
        )
    name = " ".join(normalised.split())
    if len(name) > MAX_LENGTH:
        raise ValidationError(
            _("Display names have at most %(limit)d characters."), code="too_long", params={"limit": MAX_LENGTH}
        )
    if name and (_resembles_reserved(name) or _resembles_staff(name)):
        raise ValidationError(
            _("This name is kept for the platform's staff and systems. Please choose another."), code="reserved"
        )
    return name
