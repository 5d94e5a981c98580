"""An auditor's export of a scoring run, and the agreed-upon procedures run on it (issue 18, item 3)."""

import csv
import hashlib
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation.models import Case, VoteScreening
from ratings import scoring
from ratings.models import AuditExport, ScoringRun, Vote
from tests.factories import ProductFactory, rating_ready_category
from tests.moderation.factories import vote_case
from tests.ratings.factories import campaign_for, votes_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def run() -> ScoringRun:
    """A run over one product's seven votes: five counted, one excluded by screening, one by a moderation
    case; every vote with network and device fingerprints."""
    product = ProductFactory(category=rating_ready_category())
    campaign = campaign_for(product, opens_at=timezone.now() - timedelta(days=10))
    votes = votes_cast(
        campaign,
        [
            [4, 4, 3, 5, 4],
            [2, 3, 3, 4, 1],
            [5, 5, 5, 5, 5],
            [3, 4, 4, 4, 3],
            [4, 5, 4, 4, 5],
            [1, 1, 1, 1, 1],
            [5, 1, 5, 1, 5],
        ],
        created_at=timezone.now() - timedelta(days=2),
    )
    for i, vote in enumerate(votes):
        Vote.objects.filter(pk=vote.pk).update(ip_hash=f"{i:064x}", user_agent_hash=f"{i + 100:064x}")
    screened, moderated = votes[5], votes[6]
    Vote.objects.filter(pk=screened.pk).update(verdict="excluded", exclusion_reason="screening")
    VoteScreening.objects.create(
        vote=screened, score=0.97, verdict="excluded", reasons=[{"code": "burst", "params": {}}]
    )
    Vote.objects.filter(pk=moderated.pk).update(verdict="excluded", exclusion_reason="moderation")
    vote_case(
        moderated,
        status=Case.Status.DECIDED,
        outcome=Case.Outcome.VIOLATES,
        decided_by=Case.DecidedBy.MANAGERS,
        decided_at=timezone.now() - timedelta(hours=1),
    )
    return scoring.run_all(triggered_by="test")


def _export(run: ScoringRun, out: Path, *args: str) -> str:
    stdout = StringIO()
    call_command("audit_export", "--run", str(run.pk), "--out", str(out), *args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def _check(export: Path, *args: str) -> str:
    stdout = StringIO()
    try:
        call_command("audit_check", "--export", str(export), *args, stdout=stdout)
    except CommandError as error:
        raise CommandError(f"{error}\n{stdout.getvalue()}") from error
    return stdout.getvalue()


def _column(path: Path, name: str) -> list[str]:
    with path.open(newline="") as source:
        return [row[name] for row in csv.DictReader(source)]


def test_the_files_hold_no_email_name_network_or_device_fingerprint(run: ScoringRun, tmp_path: Path) -> None:
    output = _export(run, tmp_path / "export", "--parquet")

    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted((tmp_path / "export").iterdir()))
    assert (tmp_path / "export" / "votes.parquet").exists()
    people = get_user_model().objects.filter(votes__isnull=False)
    assert people.count() == 7
    for person in people:
        assert person.email not in text
        assert person.display_name not in text
    for ip_hash, ua_hash in Vote.objects.values_list("ip_hash", "user_agent_hash"):
        assert ip_hash and ip_hash not in text
        assert ua_hash and ua_hash not in text
    key = output.split("stored nowhere")[1].split()[-1]
    assert len(key) == 64 and key not in text, "the key is shown to the operator, never written"
    record = AuditExport.objects.get()
    assert record.key_sha256 == hashlib.sha256(bytes.fromhex(key)).hexdigest()
    assert record.votes == 7 and record.formats == "csv,parquet"


def test_two_exports_name_the_same_person_differently(run: ScoringRun, tmp_path: Path) -> None:
    _export(run, tmp_path / "one")
    _export(run, tmp_path / "two")

    one, two = _column(tmp_path / "one" / "votes.csv", "rater"), _column(tmp_path / "two" / "votes.csv", "rater")
    assert len(set(one)) == 7 and len(set(two)) == 7
    assert not set(one) & set(two)
    assert not set(_column(tmp_path / "one" / "votes.csv", "vote")) & set(
        _column(tmp_path / "two" / "votes.csv", "vote")
    )


def test_every_vote_comes_with_its_verdict_reasons_and_decision(run: ScoringRun, tmp_path: Path) -> None:
    _export(run, tmp_path / "export")

    with (tmp_path / "export" / "votes.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    excluded = {row["exclusion_reason"]: row for row in rows if row["verdict"] == "excluded"}
    assert set(excluded) == {"screening", "moderation"}
    assert (
        excluded["screening"]["decision"] == "screening" and excluded["screening"]["screening_reasons"] == '["burst"]'
    )
    decisions = _column(tmp_path / "export" / "decisions.csv", "decision")
    assert excluded["moderation"]["decision"] in decisions


def test_the_checks_pass_on_a_clean_export(run: ScoringRun, tmp_path: Path) -> None:
    _export(run, tmp_path / "export")

    output = _check(tmp_path / "export", "--sample", "10")

    for check in ("invitations", "one-vote", "exclusions", "recompute"):
        assert f"PASS {check}" in output


def _tamper(path: Path, column: str, change: dict[str, str]) -> None:
    with path.open(newline="") as source:
        reader = csv.DictReader(source)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row[column] in change:
            row[column] = change[row[column]]
            break
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(header or []))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("file", "column", "change", "check"),
    [
        ("scores.csv", "score", {"4": "5"}, "recompute"),
        ("votes.csv", "decision", {"screening": ""}, "exclusions"),
        ("votes.csv", "verdict", {"excluded": "counted"}, "recompute"),
    ],
)
def test_the_checks_fail_on_a_tampered_export_naming_the_check(
    run: ScoringRun, tmp_path: Path, file: str, column: str, change: dict[str, str], check: str
) -> None:
    _export(run, tmp_path / "export")
    _tamper(tmp_path / "export" / file, column, change)

    with pytest.raises(CommandError, match=f"failed: .*{check}"):
        _check(tmp_path / "export")


def test_a_second_vote_by_the_same_person_fails_the_one_vote_check(run: ScoringRun, tmp_path: Path) -> None:
    _export(run, tmp_path / "export")
    raters = _column(tmp_path / "export" / "votes.csv", "rater")
    _tamper(tmp_path / "export" / "votes.csv", "rater", {raters[1]: raters[0]})

    with pytest.raises(CommandError, match="one-vote"):
        _check(tmp_path / "export", "--check", "one-vote")


def test_an_export_refuses_a_directory_that_is_not_empty(run: ScoringRun, tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "old.csv").write_text("x")

    with pytest.raises(CommandError, match="not empty"):
        _export(run, tmp_path / "export")


def test_staff_see_each_export_with_its_key_hash_and_cannot_add_or_change_one(
    run: ScoringRun, tmp_path: Path, client: Client, staff: Any
) -> None:
    _export(run, tmp_path / "export")
    record = AuditExport.objects.get()
    client.force_login(staff)

    listing = client.get(reverse("admin:ratings_auditexport_changelist"))
    detail = client.get(reverse("admin:ratings_auditexport_change", args=[record.pk]))

    assert listing.status_code == 200 and detail.status_code == 200
    assert record.key_sha256 in detail.content.decode()
    assert client.get(reverse("admin:ratings_auditexport_add")).status_code == 403
