"""Cadence as policy: beat runs the jobs on a schedule staff edit in the admin, and the methodology
page says when the next update comes (or that updates are paused)."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from ratings import selectors
from xhs.celery import app as celery_app

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")


def _eligibility() -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab").get(task="ratings.tasks.run_eligibility")


def _methodology(client: Client, language: str) -> str:
    return client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE=language).content.decode()


def _shown(when: datetime, language: str) -> str:
    with translation.override(language):
        return date_filter(timezone.localtime(when), "DATE_FORMAT")


def _next_day_of_month(day: int, *, hour: int) -> datetime:
    """The next ``day`` of a month at ``hour``:00 in the site's time zone, after now."""
    now = timezone.localtime()
    when = now.replace(day=day, hour=hour, minute=0, second=0, microsecond=0)
    if when <= now:
        when = (when.replace(day=1) + timedelta(days=32)).replace(day=day)
    return when


def test_a_fresh_database_schedules_every_periodic_job_by_its_registered_task_name() -> None:
    celery_app.loader.import_default_modules()

    scheduled = {row.task: row for row in PeriodicTask.objects.select_related("crontab")}

    assert set(scheduled) == {
        "ratings.tasks.run_eligibility",
        "ratings.tasks.run_scoring",
        "ratings.tasks.sweep_rescores",
        "ratings.tasks.sweep_stalled_runs",
        "ratings.tasks.release_open_data",
        "ratings.tasks.close_due_surveys",
        "moderation.tasks.retrain_screener",
        "moderation.tasks.screen_all_votes",
        "moderation.tasks.sweep_unscreened",
        "moderation.tasks.escalate_stale_cases",
        "moderation.tasks.expire_manager_terms",
        "catalog.tasks.recount_note_engagement",
    }
    assert set(scheduled) <= set(celery_app.tasks)  # a typo would schedule a task no worker knows
    eligibility, scoring = (
        scheduled["ratings.tasks.run_eligibility"].crontab,
        scheduled["ratings.tasks.run_scoring"].crontab,
    )
    assert (eligibility.minute, eligibility.hour, eligibility.day_of_month) == ("0", "4", "1")  # monthly
    assert (scoring.hour, scoring.day_of_month, scoring.day_of_week) == ("2", "*", "*")  # nightly
    assert scheduled["ratings.tasks.sweep_rescores"].crontab.minute == "*/5"
    assert scheduled["ratings.tasks.sweep_stalled_runs"].crontab.minute == "*/5"
    assert (
        scheduled["ratings.tasks.close_due_surveys"].crontab.minute,
        scheduled["ratings.tasks.close_due_surveys"].crontab.hour,
    ) == ("20", "*")  # hourly
    assert all(row.enabled and str(row.crontab.timezone) == "Asia/Shanghai" for row in scheduled.values())


def test_beat_reads_its_schedule_from_the_database_and_nowhere_else(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: staff paused scoring; and it is 03:30 in Beijing, for beat loads only the crontabs due within
    # two hours of now (the monthly run at 04:00 is one of them, the nightly scoring at 02:30 would be too)
    PeriodicTask.objects.filter(task="ratings.tasks.run_scoring").update(enabled=False)
    at = datetime(2027, 1, 1, 3, 30, tzinfo=BEIJING)
    monkeypatch.setattr("django_celery_beat.schedulers.aware_now", lambda: at.astimezone(UTC))

    # when beat loads its schedule
    entries = DatabaseScheduler(app=celery_app, lazy=True).all_as_schedule()

    # then
    assert celery_app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert not celery_app.conf.beat_schedule
    assert entries["open-rating-campaigns"].task == "ratings.tasks.run_eligibility"
    assert entries["open-rating-campaigns"].schedule == _eligibility().crontab.schedule
    assert "score-products" not in entries


def test_the_next_run_follows_the_crontab_in_the_sites_time_zone() -> None:
    # 19:59 UTC on 31 December is 03:59 on 1 January in Beijing: the monthly run is a minute away
    before = selectors.next_updates(now=datetime(2026, 12, 31, 19, 59, tzinfo=UTC))
    after = selectors.next_updates(now=datetime(2026, 12, 31, 20, 30, tzinfo=UTC))

    assert before["eligibility"] == datetime(2027, 1, 1, 4, 0, tzinfo=BEIJING)
    assert after["eligibility"] == datetime(2027, 2, 1, 4, 0, tzinfo=BEIJING)
    assert after["scoring"] == datetime(2027, 1, 2, 2, 30, tzinfo=BEIJING)


def test_the_methodology_page_tells_the_date_of_the_next_monthly_update_in_both_languages(client: Client) -> None:
    first = _next_day_of_month(1, hour=4)

    english, chinese = _methodology(client, "en"), _methodology(client, "zh-hans")

    assert f"Next update: <strong>{_shown(first, 'en')}</strong>, 04:00 (Beijing time)" in english
    assert f"下次更新：<strong>{_shown(first, 'zh-hans')}</strong>" in chinese
    assert "04:00" in chinese


def test_staff_move_the_eligibility_schedule_in_the_admin_and_the_methodology_shows_the_new_date(
    client: Client, staff: Any
) -> None:
    # given
    eligibility = _eligibility()
    client.force_login(staff)

    # when: staff move the monthly update to the 15th at 06:00 (the form lists the tasks it schedules)
    response = client.post(
        reverse("admin:django_celery_beat_crontabschedule_change", args=[eligibility.crontab_id]),
        {
            "minute": "0",
            "hour": "6",
            "day_of_month": "15",
            "month_of_year": "*",
            "day_of_week": "*",
            "timezone": "Asia/Shanghai",
            "periodictask_set-TOTAL_FORMS": "1",
            "periodictask_set-INITIAL_FORMS": "1",
            "periodictask_set-0-id": str(eligibility.pk),
            "periodictask_set-0-crontab": str(eligibility.crontab_id),
        },
    )

    # then
    assert response.status_code == 302
    fifteenth = _next_day_of_month(15, hour=6)
    assert f"Next update: <strong>{_shown(fifteenth, 'en')}</strong>, 06:00" in _methodology(client, "en")


def test_a_schedule_staff_disabled_says_updates_are_paused(client: Client, staff: Any) -> None:
    # given
    client.force_login(staff)

    # when: staff disable the eligibility and scoring jobs with the admin's action
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {
            "action": "disable_tasks",
            "_selected_action": list(
                PeriodicTask.objects.filter(
                    task__in=["ratings.tasks.run_eligibility", "ratings.tasks.run_scoring"]
                ).values_list("pk", flat=True)
            ),
        },
    )

    # then
    assert response.status_code == 302
    english, chinese = _methodology(client, "en"), _methodology(client, "zh-hans")
    assert "Updates are paused" in english and "Next update" not in english
    assert "The scheduled re-score of every product is paused." in english
    assert "暂停" in chinese and "下次更新" not in chinese


def test_a_schedule_that_never_fires_reads_as_paused_not_as_an_error(client: Client) -> None:
    CrontabSchedule.objects.filter(pk=_eligibility().crontab_id).update(day_of_month="30", month_of_year="2")

    page = client.get(reverse("ratings:methodology"), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert "Updates are paused" in page.content.decode()
