"""The sweep that finishes scoring and eligibility runs whose worker died (ratings.tasks.sweep_stalled_runs),
every 5 minutes like the other sweeps; declared beside the rest of the schedule (0006_periodic_tasks.py)."""

from django.conf import settings
from django.db import migrations

NAME = "repair-stalled-scoring-runs"
TASK = "ratings.tasks.sweep_stalled_runs"


def create_periodic_task(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="*/5", hour="*", day_of_month="*", month_of_year="*", day_of_week="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": crontab})


def delete_periodic_task(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0010_run_task_and_resume"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_task, delete_periodic_task)]
