"""``manage.py seed``: realistic data for development (demo) and for measuring jobs at real scale (full)."""

import argparse
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from accounts.models import User
from moderation.demo import demo_moderation_seed
from ratings import open_data, scoring
from ratings.demo import DEMO_MIN_VOTES, demo_brand_account_link, demo_ratings_seed
from ratings.demo_surveys import demo_surveys_seed
from seeding.generator import SCALES
from seeding.loading import SeedRefused, SeedReport, is_seeded, report_header, report_table, seed_database
from seeding.people import BRAND, BUYER, CANDIDATE, DEMO_PASSWORD, MANAGER, PERSONAS

_WHAT_EACH_PERSONA_IS = {
    "shopper": "signed up, no purchases",
    "buyer": "genuine purchases in the last year (a shampoo among them)",
    "ecosystem manager": "passed the rules test: judges reported content at /moderation/",
    "staff": "Django admin (is_staff, is_superuser)",
    "candidate": "meets the entry bar: may take the rules test at /moderation/test/",
    "brand": "linked to a brand: its products' ratings at /brand/, read-only",
}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {value!r}") from None


class Command(BaseCommand):
    #: The last run's figures, read by bench/seed_full.py.
    report: SeedReport | None = None
    help = (
        "Generate realistic data: 93 rating-ready categories with their factors, brands, stores, products, "
        "users, purchase records, community notes and engagement. 'demo' is small and runs anywhere; "
        "'full' (500k users, ~10M purchase records) needs PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="demo", help="how much to generate")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed + as-of = same data)")
        parser.add_argument(
            "--as-of",
            type=_date,
            default=None,
            help="reference date YYYY-MM-DD: data covers the three years before it (default: today)",
        )
        parser.add_argument(
            "--flush", action="store_true", help="delete existing catalog and account data first (TRUNCATE ... CASCADE)"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if categories exist already (still prints the demo accounts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and is_seeded():
            self.stdout.write("Categories exist already: nothing generated.")
            self._print_accounts()
            return
        scale = options["scale"]
        if scale == "full" and connection.vendor != "postgresql":
            raise CommandError(
                "--scale full needs PostgreSQL (set DATABASE_URL=postgres://...); on SQLite use --scale demo."
            )
        as_of = options["as_of"] or timezone.localdate()
        chatty = options["verbosity"] >= 1
        if chatty:
            self.stdout.write(
                f"Seeding {scale} scale on {connection.vendor} (seed {options['seed']}, as of {as_of.isoformat()})…"
            )
            self.stdout.write(report_header())
        try:
            self.report = seed_database(
                sizes=SCALES[scale],
                seed=options["seed"],
                as_of=as_of,
                flush=options["flush"],
                progress=self.stdout.write if chatty else None,
            )
        except SeedRefused as exc:
            raise CommandError(f"Refusing to seed: {exc}.") from exc
        if chatty:
            self.stdout.write("Summary (a table's seconds include generating, writing and rebuilding its indexes):")
            for line in report_table(self.report):
                self.stdout.write(line)
        if scale == "demo":
            # Campaigns, invitations and votes, so the purchaser's and shopper's pages have data.
            ratings = demo_ratings_seed(
                seed=options["seed"], buyer_email=PERSONAS[BUYER].email, candidate_email=PERSONAS[CANDIDATE].email
            )
            if chatty:
                self.stdout.write(
                    f"Ratings: {ratings.campaigns} campaigns, {ratings.invitations} invitations, {ratings.votes} votes;"
                    f" {ratings.published} products published (at {DEMO_MIN_VOTES} counted votes in the demo),"
                    f" {ratings.listed} on the Little Red Heart list."
                )
            brand = demo_brand_account_link(email=PERSONAS[BRAND].email)
            if chatty and brand is not None:
                self.stdout.write(f"Brand account: {PERSONAS[BRAND].email} speaks for {brand.name_en}.")
            factor_surveys = demo_surveys_seed(seed=options["seed"], buyer_email=PERSONAS[BUYER].email)
            if chatty and factor_surveys is not None:
                self.stdout.write(
                    f"Factor surveys: {factor_surveys.adopted_category} chose its factors with"
                    f" {factor_surveys.adopted_respondents} buyers; {factor_surveys.open_category} is open"
                    f" ({factor_surveys.open_invited} invited, the demo buyer among them)."
                )
            moderation = demo_moderation_seed(
                seed=options["seed"],
                manager_email=PERSONAS[MANAGER].email,
                persona_emails=[persona.email for persona in PERSONAS],
            )
            # The moderation demo rewrites some votes (a ring, paid reviews) and screens them: score again, so
            # that the latest run's figures are those of the votes as they now stand (verify_scores checks it)
            rescored = scoring.run_all(triggered_by="demo seed, after moderation")
            # last month's open data, as the monthly job would have published it
            released = open_data.release_build(month=open_data.Month.previous())
            if chatty:
                self.stdout.write(
                    f"Moderation: {moderation.rules} rules, {moderation.questions} test questions,"
                    f" {moderation.managers} ecosystem managers, {moderation.open_cases} open cases,"
                    f" {moderation.decided_cases} decided; screening excluded {moderation.excluded_by_screening}"
                    f" of {moderation.screened} votes and held {moderation.held_for_review} for review;"
                    f" scored again in run {rescored.pk}."
                )
                self.stdout.write(
                    f"Open data: {released.month:%Y-%m} released at /open-data/ ({released.votes} counted votes"
                    f" of {released.products} products)."
                )
        self._print_accounts()

    def _print_accounts(self) -> None:
        present = set(
            User.objects.filter(email__in=[persona.email for persona in PERSONAS]).values_list("email", flat=True)
        )
        personas = [persona for persona in PERSONAS if persona.email in present]
        if not personas:
            self.stdout.write("No demo accounts in this database.")
            return
        self.stdout.write("")
        self.stdout.write("Demo accounts (sign in at /accounts/login/):")
        self.stdout.write(f"  {'email':<20} {'password':<16} {'role':<19} who")
        for persona in personas:
            self.stdout.write(
                f"  {persona.email:<20} {DEMO_PASSWORD:<16} {persona.role:<19} {_WHAT_EACH_PERSONA_IS[persona.role]}"
            )
