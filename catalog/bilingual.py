"""Bilingual content: every name and description a shopper reads is stored in Chinese and English."""

from django.db import models
from django.utils.translation import get_language


def wants_chinese() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


class BilingualName(models.Model):
    name_zh = models.CharField("名称 (中文)", max_length=120)
    name_en = models.CharField("Name (English)", max_length=120)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        """The name in the active language, falling back to the other one when it is empty."""
        first, second = (self.name_zh, self.name_en) if wants_chinese() else (self.name_en, self.name_zh)
        return first or second
