"""The periodic jobs, declared once: beat reads them from the database (django-celery-beat), and staff
edit them in the admin from then on. Eligibility runs monthly, as the real programme updates monthly;
scoring nightly; the sweeps every few minutes. Crontabs are in the site's time zone."""

from django.conf import settings
from django.db import migrations

#: name: (task, minute, hour, day of month, day of week)
SCHEDULE = {
    "open-rating-campaigns": ("ratings.tasks.run_eligibility", "0", "4", "1", "*"),
    "score-products": ("ratings.tasks.run_scoring", "30", "2", "*", "*"),
    "repair-lost-rescores": ("ratings.tasks.sweep_rescores", "*/5", "*", "*", "*"),
    "retrain-screener": ("moderation.tasks.retrain_screener", "30", "1", "*", "*"),
    "screen-all-votes": ("moderation.tasks.screen_all_votes", "0", "2", "*", "*"),
    "repair-lost-screenings": ("moderation.tasks.sweep_unscreened", "*/5", "*", "*", "*"),
    "escalate-stale-cases": ("moderation.tasks.escalate_stale_cases", "5", "*", "*", "*"),
    "expire-manager-terms": ("moderation.tasks.expire_manager_terms", "10", "0", "*", "*"),
    "recount-note-engagement": ("catalog.tasks.recount_note_engagement", "15", "3", "*", "*"),
}


def create_periodic_tasks(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, minute, hour, day_of_month, day_of_week) in SCHEDULE.items():
        crontab, _created = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year="*",
            day_of_week=day_of_week,
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def delete_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0005_vote_constraints_and_verdict_log"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, delete_periodic_tasks)]
