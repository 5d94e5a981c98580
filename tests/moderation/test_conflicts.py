"""No judge has a stake: a manager never sees nor judges a case they reported, content by an account that shares
a device or network with them (screening's devices and networks: a carrier's pool binds nobody), or ratings of a
product they rated; staff see who was kept from a case and why."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from catalog.models import Product
from moderation import selectors, services
from moderation.fraud.fingerprints import FingerprintParams
from moderation.models import Case, ManagerVote
from moderation.selectors import Conflict, case_conflicts, queue
from ratings.models import Campaign, Vote
from ratings.services import fingerprint
from tests.factories import NoteFactory, ProductFactory, UserFactory, rating_ready_category
from tests.moderation.factories import RuleFactory, manager, note_case, vote_case
from tests.ratings.factories import accepted_invitation, campaign_for, vote_for, votes_cast

pytestmark = pytest.mark.django_db


def _product() -> Product:
    return ProductFactory(category=rating_ready_category())


def _rating_by(user: Any, campaign: Campaign | None = None, **kwargs: Any) -> Vote:
    campaign = campaign or campaign_for(_product())
    return vote_for(accepted_invitation(user=user, campaign=campaign), comment="so good", **kwargs)


def _in_queue(judge: Any, case: Case) -> bool:
    return case.pk in {seen.pk for seen in queue(manager=judge)}


def _judgeable(judge: Any, case: Case) -> None:
    """The control: a manager without a stake sees and judges the same case."""
    assert _in_queue(judge, case)
    services.vote_cast(manager=judge, case_id=case.pk, choice="skip")


def test_a_manager_neither_sees_nor_judges_a_case_they_reported() -> None:
    judge = manager()
    case = services.report_submit(reporter=judge, rule=RuleFactory(), note=NoteFactory())

    assert not _in_queue(judge, case)
    with pytest.raises(services.ModerationError, match="reported this content"):
        services.vote_cast(manager=judge, case_id=case.pk, choice="violates")
    _judgeable(manager(), case)


def _carrier_pool(network: str) -> None:
    """As many accounts as screening's common bar voting through one network: with the judge and the author
    there are more, a carrier's address pool."""
    common = FingerprintParams().common_accounts
    votes_cast(campaign_for(_product()), [[4] * 5] * common, ip_hash=network, user_agent_hash=fingerprint("Phone/9"))


def _barred(judge: Any, case: Case) -> None:
    assert not _in_queue(judge, case)
    # (a page request may have left its language active; the refusal is matched in English)
    with translation.override("en"), pytest.raises(services.ModerationError, match="device or network"):
        services.vote_cast(manager=judge, case_id=case.pk, choice="complies")
    _judgeable(manager(), case)


def test_a_manager_neither_sees_nor_judges_content_by_an_account_sharing_their_device() -> None:
    # given a judge and an author on one phone, on a carrier's network too common to bind anyone by itself
    carrier = fingerprint("100.64.0.1")
    _carrier_pool(carrier)
    judge, author = manager(), UserFactory()
    _rating_by(judge, user_agent_hash=fingerprint("the-same-phone"), ip_hash=carrier)
    _rating_by(author, user_agent_hash=fingerprint("the-same-phone"), ip_hash=carrier)

    _barred(judge, note_case(note=NoteFactory(author=author)))


def test_a_manager_neither_sees_nor_judges_content_by_an_account_sharing_their_network() -> None:
    judge, author = manager(), UserFactory()
    _rating_by(judge, user_agent_hash=fingerprint("JudgePhone/1"), ip_hash=fingerprint("198.51.100.1"))
    _rating_by(author, user_agent_hash=fingerprint("AuthorLaptop/2"), ip_hash=fingerprint("198.51.100.1"))

    _barred(judge, note_case(note=NoteFactory(author=author)))


def test_a_carriers_network_shared_by_more_accounts_than_the_common_bar_keeps_nobody_from_a_case() -> None:
    carrier = fingerprint("100.64.0.1")
    _carrier_pool(carrier)
    judge, author = manager(), UserFactory()
    _rating_by(judge, user_agent_hash=fingerprint("JudgePhone/1"), ip_hash=carrier)
    _rating_by(author, user_agent_hash=fingerprint("AuthorLaptop/2"), ip_hash=carrier)

    _judgeable(judge, note_case(note=NoteFactory(author=author)))


def test_a_manager_judges_an_account_with_another_device_and_network_even_the_same_browser_build() -> None:
    judge, author, stranger = manager(), UserFactory(), UserFactory()
    _rating_by(judge, user_agent_hash=fingerprint("Browser/120"), ip_hash=fingerprint("198.51.100.1"))
    # the same browser build elsewhere is another device: thousands of people run it
    _rating_by(author, user_agent_hash=fingerprint("Browser/120"), ip_hash=fingerprint("203.0.113.9"))
    _rating_by(stranger, user_agent_hash=fingerprint("Other/1"), ip_hash=fingerprint("203.0.113.10"))

    _judgeable(judge, note_case(note=NoteFactory(author=author)))
    _judgeable(judge, note_case(note=NoteFactory(author=stranger)))


def test_a_manager_neither_sees_nor_judges_a_rating_from_the_network_they_judge_from(client: Client) -> None:
    # given a manager who voted on a case from the page, at home
    judge = manager()
    client.force_login(judge)
    client.post(
        reverse("moderation:case_vote", args=[note_case().pk]),
        {"choice": "skip"},
        REMOTE_ADDR="192.0.2.44",
        HTTP_USER_AGENT="JudgeBrowser/1.0",
    )
    # and a rating cast from the same home network by another account
    rating = votes_cast(campaign_for(_product()), [[5] * 5], comment="best ever", ip_hash=fingerprint("192.0.2.44"))[0]
    case = vote_case(rating)

    _barred(judge, case)


def test_manager_votes_record_keyed_hashes_of_the_judges_network_and_device(client: Client) -> None:
    judge = manager()
    client.force_login(judge)

    client.post(
        reverse("moderation:case_vote", args=[note_case().pk]),
        {"choice": "skip"},
        REMOTE_ADDR="192.0.2.44",
        HTTP_USER_AGENT="JudgeBrowser/1.0",
    )

    vote = ManagerVote.objects.get(manager=judge)
    assert (vote.ip_hash, vote.user_agent_hash) == (fingerprint("192.0.2.44"), fingerprint("JudgeBrowser/1.0"))
    assert "192.0.2.44" not in vote.ip_hash


def test_a_manager_who_rated_a_product_judges_no_rating_of_it() -> None:
    judge, campaign = manager(), campaign_for(_product())
    _rating_by(judge, campaign)
    rival = votes_cast(campaign, [[1] * 5], comment="terrible")[0]
    case = vote_case(rival)
    elsewhere = vote_case(votes_cast(campaign_for(_product()), [[1] * 5], comment="terrible too")[0])

    assert not _in_queue(judge, case)
    with pytest.raises(services.ModerationError, match="rated the same product"):
        services.vote_cast(manager=judge, case_id=case.pk, choice="violates")
    _judgeable(manager(), case)
    _judgeable(judge, elsewhere)  # a rating of another product is theirs to judge


def test_unrelated_fingerprints_and_empty_ones_keep_nobody_from_a_case() -> None:
    judge, author = manager(), UserFactory()
    _rating_by(judge, user_agent_hash="", ip_hash="")
    _rating_by(author, user_agent_hash="", ip_hash="")

    _judgeable(judge, note_case(note=NoteFactory(author=author)))


def test_staff_see_which_managers_were_kept_from_a_case_and_why(staff: Any) -> None:
    reporter, twin, rater, free = manager(), manager(), manager(), manager()
    author = UserFactory()
    campaign = campaign_for(_product())
    rating = _rating_by(author, campaign, user_agent_hash=fingerprint("shared-phone"))
    _rating_by(twin, user_agent_hash=fingerprint("shared-phone"))
    _rating_by(rater, campaign)
    case = services.report_submit(reporter=reporter, rule=RuleFactory(), vote=rating)
    client = Client()
    client.force_login(staff)

    kept = case_conflicts(Case.objects.select_related("note", "vote").get(pk=case.pk))
    page = client.get(reverse("admin:moderation_case_change", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert {user.pk: reasons for user, reasons in kept.items()} == {
        reporter.pk: [Conflict.REPORTER],
        twin.pk: [Conflict.SHARED_FINGERPRINT],
        rater.pk: [Conflict.RATED_PRODUCT],
    }
    assert free not in kept
    html = page.content.decode()
    assert page.status_code == 200
    assert all(label in html for label in ("reported this content", "device or network", "rated the same product"))
    # what staff see is what the queue does
    assert {m.pk for m in (reporter, twin, rater, free) if _in_queue(m, case)} == {free.pk}


def test_a_managers_conflict_check_is_built_once_and_holds_for_every_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the filter cost ~28 ms of CPU at every case vote: it is compiled once per manager, the case id put in
    at each check."""
    judge = manager()
    reported = services.report_submit(reporter=judge, rule=RuleFactory(), note=NoteFactory())
    other = services.report_submit(reporter=manager(), rule=RuleFactory(), note=NoteFactory())
    selectors._conflict_sql.cache_clear()
    built: list[int] = []
    original = selectors.conflicts_q
    monkeypatch.setattr(selectors, "conflicts_q", lambda judge: built.append(judge.pk) or original(judge))

    assert selectors.has_conflict(manager_id=judge.pk, case_id=reported.pk)
    assert not selectors.has_conflict(manager_id=judge.pk, case_id=other.pk)
    assert built == [judge.pk]
