"""Bilingual content: every name and description a shopper reads is stored in Chinese and English."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def in_language(zh: str, en: str) -> str:
    """The text in the active language, falling back to the other one when it is empty."""
    first, second = (zh, en) if (get_language() or "zh-hans").startswith("zh") else (en, zh)
    return first or second


class BilingualName(models.Model):
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return in_language(self.name_zh, self.name_en)
