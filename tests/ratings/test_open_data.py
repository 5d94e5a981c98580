"""Open data: a month's counted votes, anonymised, released as a zip with a README and a recompute script
(issue 18, item 4)."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from ratings import open_data
from ratings.models import Campaign, OpenDataRelease, Vote
from tests.factories import ProductFactory, rating_ready_category
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db

MONTH = open_data.Month.parse("2026-10")
#: 20:30 UTC on 14 October is 04:30 on the 15th in Beijing: the day released is Beijing's.
VOTED_AT = datetime(2026, 10, 14, 20, 30, 45, tzinfo=UTC)
AFTER = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
#: Five raters' scores on five factors of equal weight: the comprehensive score is their plain mean.
FIVE = [[4, 5, 3, 4, 4], [3, 4, 3, 4, 4], [5, 5, 5, 5, 5], [2, 3, 2, 3, 3], [4, 4, 4, 4, 5]]


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OPEN_DATA_MIN_RATERS = 5
    return tmp_path / "media"


def _campaign(scores: list[list[int]], *, at: datetime = VOTED_AT) -> Campaign:
    product = ProductFactory(category=rating_ready_category())
    campaign = campaign_for(product, opens_at=at - timedelta(days=5))
    votes = votes_cast(campaign, scores, created_at=at)
    for i, vote in enumerate(votes):
        Vote.objects.filter(pk=vote.pk).update(ip_hash=f"{i + 7:064x}", user_agent_hash=f"{i + 900:064x}")
    return campaign


def _files(release: OpenDataRelease) -> dict[str, str]:
    with zipfile.ZipFile(release.file.path) as archive:
        return {name.rsplit("/", 1)[-1]: archive.read(name).decode("utf-8") for name in archive.namelist()}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_product_fewer_than_the_minimum_rated_is_left_out(media: Path) -> None:
    # given: five people rated one product in October, four another
    kept = _campaign(FIVE)
    small = _campaign(FIVE[:4])

    release = open_data.release_build(month=MONTH, now=AFTER)

    files = _files(release)
    products = {row["product_id"] for row in _rows(files["products.csv"])}
    assert products == {str(kept.product_id)}
    assert {row["product_id"] for row in _rows(files["ratings.csv"])} == {str(kept.product_id)}
    assert {row["product_id"] for row in _rows(files["factors.csv"])} == {str(kept.product_id)}
    assert small.product_id != kept.product_id
    assert (release.products, release.products_suppressed, release.votes, release.min_raters) == (1, 1, 5, 5)
    assert "fewer than 5 people" in files["README.md"] and "(1 product(s) this month)" in files["README.md"]
    assert "评分人数少于 5 的商品整体不发布（本月 1 个）" in files["README.zh-hans.md"]


def test_only_counted_votes_are_released_and_an_excluded_one_can_push_a_product_below_the_minimum() -> None:
    campaign = _campaign(FIVE)
    Vote.objects.filter(pk=campaign.votes.order_by("pk").first().pk).update(  # type: ignore[union-attr]
        verdict="excluded", exclusion_reason="screening"
    )

    release = open_data.release_build(month=MONTH, now=AFTER)

    assert (release.products, release.products_suppressed, release.votes) == (0, 1, 0)


def test_votes_are_released_by_day_without_fingerprints_names_or_times() -> None:
    _campaign(FIVE)

    files = _files(open_data.release_build(month=MONTH, now=AFTER))

    ratings = _rows(files["ratings.csv"])
    assert list(ratings[0]) == ["rater", "product_id", "day", "factor_key", "score"]
    assert {row["day"] for row in ratings} == {"2026-10-15"}, "Beijing's day, and no time of day"
    assert len({row["rater"] for row in ratings}) == 5
    text = "\n".join(files.values())
    assert "20:30" not in text and "04:30" not in text
    for person in get_user_model().objects.filter(votes__isnull=False):
        assert person.email not in text and person.display_name not in text
    for ip_hash, ua_hash in Vote.objects.values_list("ip_hash", "user_agent_hash"):
        assert ip_hash not in text and ua_hash not in text


def test_each_release_draws_new_pseudonyms() -> None:
    _campaign(FIVE)
    first = {row["rater"] for row in _rows(_files(open_data.release_build(month=MONTH, now=AFTER))["ratings.csv"])}
    OpenDataRelease.objects.all().delete()

    second = {row["rater"] for row in _rows(_files(open_data.release_build(month=MONTH, now=AFTER))["ratings.csv"])}

    assert len(first) == 5 and not first & second


def test_the_recompute_script_in_the_zip_gives_each_products_score(tmp_path: Path) -> None:
    campaign = _campaign(FIVE)
    release = open_data.release_build(month=MONTH, now=AFTER)
    policy = json.loads(_files(release)["policy.json"])

    with zipfile.ZipFile(release.file.path) as archive:
        archive.extract("little-red-heart-2026-10/recompute.py", tmp_path)
    done = subprocess.run(  # noqa: S603 - our own script on our own file
        [sys.executable, str(tmp_path / "little-red-heart-2026-10" / "recompute.py"), release.file.path],
        capture_output=True,
        text=True,
        check=True,
    )

    (row,) = _rows(done.stdout)
    assert row["product_id"] == str(campaign.product_id) and row["raters"] == "5"
    assert float(row["comprehensive"]) == pytest.approx(sum(map(sum, FIVE)) / 25)
    assert policy["min_raters"] == 5 and "prior_strength" in policy


def test_a_month_is_released_once_and_only_when_over() -> None:
    first = open_data.release_build(month=MONTH, now=AFTER)

    assert open_data.release_build(month=MONTH, now=AFTER).pk == first.pk
    with pytest.raises(open_data.OpenDataError, match="not over"):
        open_data.release_build(month=open_data.Month.parse("2026-11"), now=AFTER)


def test_the_command_releases_a_month_and_refuses_a_bad_one() -> None:
    _campaign(FIVE)
    out = io.StringIO()

    call_command("open_data_export", "--month", "2026-10", stdout=out)

    assert "2026-10: 5 votes of 1 products released" in out.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("open_data_export", "--month", "October")


def test_the_monthly_task_releases_last_month(monkeypatch: pytest.MonkeyPatch) -> None:
    from ratings import tasks

    monkeypatch.setattr(timezone, "now", lambda: AFTER)

    release_id = tasks.release_open_data()

    assert OpenDataRelease.objects.get(pk=release_id).month == MONTH.first


def _release(month: str) -> None:
    open_data.release_build(month=open_data.Month.parse(month), now=AFTER)


def test_the_page_lists_every_release_with_its_download_in_constant_queries(
    client: Client, django_assert_num_queries: Any
) -> None:
    _campaign(FIVE)
    _campaign(FIVE[:4])
    _release("2026-10")
    _release("2026-09")
    with translation.override("en"):
        url = reverse("ratings:open_data")
    client.cookies["django_language"] = "en"
    client.get(url)  # warm the session and language machinery
    with django_assert_num_queries(1) as few:
        page = client.get(url)
    _release("2026-08")
    _release("2026-07")
    with django_assert_num_queries(len(few.captured_queries)):
        more = client.get(url)

    assert page.status_code == 200
    html = more.content.decode()
    for month in ("2026-10", "2026-09", "2026-08", "2026-07"):
        assert f"/open-data/{month}.zip" in html
    assert "1 product (fewer than 5 raters)" in html
    download = client.get("/open-data/2026-10.zip")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="little-red-heart-2026-10.zip"')
    assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).testzip() is None  # type: ignore[attr-defined]
    assert client.get("/open-data/2026-06.zip").status_code == 404


def test_the_page_speaks_chinese(client: Client) -> None:
    with translation.override("zh-hans"):
        if gettext("Open data") == "Open data":
            pytest.skip("translations not compiled yet")
    _release("2026-10")

    html = client.get(reverse("ratings:open_data"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "开放数据" in html


def test_the_methodology_links_to_the_open_data(client: Client) -> None:
    html = client.get(reverse("ratings:methodology")).content.decode()

    assert reverse("ratings:open_data") in html


def test_staff_see_the_releases_in_the_admin(client: Client, staff: Any) -> None:
    _campaign(FIVE)
    release = open_data.release_build(month=MONTH, now=AFTER)
    client.force_login(staff)

    listing = client.get(reverse("admin:ratings_opendatarelease_changelist"))
    detail = client.get(reverse("admin:ratings_opendatarelease_change", args=[release.pk]))

    assert listing.status_code == 200 and detail.status_code == 200
    assert release.sha256 in detail.content.decode()
