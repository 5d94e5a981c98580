"""Factor surveys past their closing time close by themselves (ratings.tasks.close_due_surveys): hourly at
minute 20; declared beside the rest of the schedule."""

from django.conf import settings
from django.db import migrations

NAME = "close-due-surveys"
TASK = "ratings.tasks.close_due_surveys"


def create_periodic_task(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="20", hour="*", day_of_month="*", month_of_year="*", day_of_week="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": crontab})


def delete_periodic_task(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0021_vote_exclusion_reason_stake"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
