from django.apps import AppConfig


class SeedingConfig(AppConfig):
    """Generated data for the demo and for full-scale benches (``manage.py seed``); no models of its own."""

    name = "seeding"
    verbose_name = "Seed data"
