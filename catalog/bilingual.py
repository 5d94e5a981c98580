"""Bilingual content: every name and description a shopper reads is stored in Chinese and English."""

from django.db import models
from django.utils.translation import get_language


def in_language(zh: str, en: str) -> str:
    """The text in the active language, falling back to the other one when it is empty."""
    first, second = (zh, en) if (get_language() or "zh-hans").startswith("zh") else (en, zh)
    return first or second


class BilingualName(models.Model):
    name_zh = models.CharField("名称 (中文)", max_length=120)
    name_en = models.CharField("Name (English)", max_length=120)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return in_language(self.name_zh, self.name_en)
