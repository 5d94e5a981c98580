"""The monthly open-data release: a month's counted votes, anonymised, in a zip anyone may download
(issue 18, item 4).

What is released: each counted vote submitted or confirmed in the month (China Standard Time), as one
row per factor score, with the day and a rater pseudonym drawn for this release alone (HMAC under a
random key that is thrown away), so releases cannot be joined on it. What is not: the time of day,
emails, names, fingerprints, comments, orders. Small cells are suppressed: a product fewer than
``OPEN_DATA_MIN_RATERS`` people rated that month is left out entirely. The zip carries a README in
English and Chinese (the columns, what was left out, how to recompute the list) and ``recompute.py``
(standard library only).

Idempotent: a month is released once (``OpenDataRelease.month`` is unique); building it again returns
the existing release. How it scales: one query over the month's counted scores, streamed in product
order into the zip (a month at full scale is about 240k votes, 1.2M score rows: seconds).
"""

import csv
import hashlib
import hmac
import io
import json
import secrets
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from catalog.models import Product
from ratings import statistics
from ratings.eligibility import policy_get
from ratings.models import Campaign, CampaignFactor, FactorScore, OpenDataRelease, Vote

FILES_DIR = Path(__file__).resolve().parent / "open_data_files"
CHUNK = 10000


@dataclass(frozen=True)
class Month:
    first: date

    @classmethod
    def parse(cls, text: str) -> "Month":
        """``YYYY-MM``; ValueError otherwise."""
        parsed = datetime.strptime(text, "%Y-%m")  # noqa: DTZ007 - a calendar month, not an instant
        return cls(parsed.date())

    @classmethod
    def previous(cls, now: datetime | None = None) -> "Month":
        today = timezone.localdate(now or timezone.now())
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return cls(date(year, month, 1))

    @property
    def next_first(self) -> date:
        year, month = self.first.year, self.first.month
        return date(year + (month == 12), month % 12 + 1, 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The month's first instant and the next month's, in the site's time zone."""
        zone = ZoneInfo(settings.TIME_ZONE)
        return (
            datetime.combine(self.first, time(), tzinfo=zone),
            datetime.combine(self.next_first, time(), tzinfo=zone),
        )

    def __str__(self) -> str:
        return f"{self.first:%Y-%m}"


class OpenDataError(Exception):
    """The month cannot be released (not over yet)."""


def _csv(rows: Iterable[Sequence[Any]], header: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def release_build(*, month: Month, now: datetime | None = None, min_raters: int | None = None) -> OpenDataRelease:
    """Build and store ``month``'s release, or return it when it exists. The month must be over."""
    now = now or timezone.now()
    existing = OpenDataRelease.objects.filter(month=month.first).first()
    if existing is not None:
        return existing
    start, end = month.bounds()
    if end > now:
        raise OpenDataError(f"{month} is not over yet")
    min_raters = min_raters or settings.OPEN_DATA_MIN_RATERS
    counted = Vote.objects.filter(verdict=Vote.Verdict.COUNTED, submitted_at__gte=start, submitted_at__lt=end)
    raters = dict(counted.values_list("product_id").annotate(n=Count("pk")).order_by())
    released = sorted(p for p, n in raters.items() if n >= min_raters)
    suppressed = len(raters) - len(released)

    key = secrets.token_bytes(32)  # never stored: pseudonyms of this release only

    def rater(user_id: int) -> str:
        return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]

    zone = ZoneInfo(settings.TIME_ZONE)
    factor_key: dict[int, int] = {}
    latest: dict[int, int] = {}
    for product_id, campaign_id in (
        Campaign.objects.filter(product_id__in=released)
        .exclude(status=Campaign.Status.CANCELLED)
        .order_by("product_id", "-opens_at", "-id")
        .values_list("product_id", "id")
    ):
        latest.setdefault(product_id, campaign_id)
    factor_rows = []
    for pk, factor_id, campaign_id, product_id, position, weight, name_zh, name_en in (
        CampaignFactor.objects.filter(campaign__product_id__in=released)
        .order_by("campaign__product_id", "position", "id")
        .values_list(
            "pk", "factor_id", "campaign_id", "campaign__product_id", "position", "weight", "name_zh", "name_en"
        )
    ):
        factor_key[pk] = factor_id if factor_id is not None else -pk
        if latest.get(product_id) == campaign_id:
            factor_rows.append([product_id, factor_key[pk], position, weight, name_zh, name_en])

    # Rows sorted by product, day, pseudonym and factor: nothing of the order votes came in survives.
    scores = (
        FactorScore.objects.filter(vote__in=counted, product_id__in=released)
        .order_by("product_id")
        .values_list("product_id", "vote__user_id", "vote__submitted_at", "factor_id", "score")
    )
    rating_rows = sorted(
        (product_id, submitted.astimezone(zone).date().isoformat(), rater(user_id), factor_key[factor_id], score)
        for product_id, user_id, submitted, factor_id, score in scores.iterator(chunk_size=CHUNK)
    )
    products = [
        [p.pk, p.name_zh, p.name_en, p.category_id, p.category.name_zh, p.category.name_en, raters[p.pk]]
        for p in Product.objects.filter(pk__in=released).select_related("category").order_by("pk")
    ]
    policy = policy_get()
    parameters = {
        "month": str(month),
        "method_version": statistics.METHOD_VERSION,
        "min_votes_to_publish": policy.min_votes_to_publish,
        "prior_strength": policy.prior_strength,
        "list_threshold": float(policy.list_threshold),
        "list_size": policy.list_size,
        "score_window_days": policy.score_window_days,
        "min_raters": min_raters,
    }
    filled = {
        "month": str(month),
        "released": f"{timezone.localdate(now):%Y-%m-%d}",
        "method_version": statistics.METHOD_VERSION,
        "min_raters": str(min_raters),
        "suppressed": str(suppressed),
    }
    readmes = {}
    for readme in ("README.md", "README.zh-hans.md"):
        text = (FILES_DIR / readme).read_text(encoding="utf-8")
        for name, value in filled.items():
            text = text.replace("{" + name + "}", value)
        readmes[readme] = text.encode("utf-8")

    buffer = io.BytesIO()
    # A fixed date on every member: the same data gives the same bytes.
    stamp = (month.first.year, month.first.month, 1, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            ("README.md", readmes["README.md"]),
            ("README.zh-hans.md", readmes["README.zh-hans.md"]),
            ("ratings.csv", _csv([(r[2], r[0], r[1], r[3], r[4]) for r in rating_rows], _RATINGS)),
            ("products.csv", _csv(products, _PRODUCTS)),
            ("factors.csv", _csv(factor_rows, _FACTORS)),
            ("policy.json", json.dumps(parameters, indent=2).encode("utf-8")),
            ("recompute.py", (FILES_DIR / "recompute.py").read_bytes()),
        ):
            archive.writestr(zipfile.ZipInfo(f"little-red-heart-{month}/{name}", stamp), content, zipfile.ZIP_DEFLATED)
    data = buffer.getvalue()
    release = OpenDataRelease(
        month=month.first,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        votes=sum(raters[p] for p in released),
        products=len(released),
        products_suppressed=suppressed,
        min_raters=min_raters,
    )
    try:
        with transaction.atomic():
            release.file.save(f"little-red-heart-{month}.zip", ContentFile(data), save=False)
            release.save()
    except IntegrityError:  # another worker released the month meanwhile: theirs stands
        release.file.delete(save=False)
        return OpenDataRelease.objects.get(month=month.first)
    return release


_RATINGS = ["rater", "product_id", "day", "factor_key", "score"]
_PRODUCTS = ["product_id", "name_zh", "name_en", "category_id", "category_zh", "category_en", "raters"]
_FACTORS = ["product_id", "factor_key", "position", "weight", "name_zh", "name_en"]


def releases_public() -> list[OpenDataRelease]:
    """Every release, newest first: one query."""
    return list(OpenDataRelease.objects.order_by("-month"))
