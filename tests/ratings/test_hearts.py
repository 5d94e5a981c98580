"""The rating form's hearts, written in Python (``ratings/templatetags/hearts.py``) as Django's widgets write them."""

import re

import pytest
from django.test import Client

from ratings.forms import RatingForm
from ratings.models import Invitation
from ratings.templatetags.hearts import heart_option, hearts_static
from tests.ratings.factories import accepted_invitation

pytestmark = pytest.mark.django_db


def _form(invitation: Invitation, data: dict[str, str] | None = None) -> RatingForm:
    factors = list(invitation.campaign.factors.all())
    form = RatingForm(data, factors=factors, invitation_id=invitation.pk, amends_revision=None)
    if data is not None:
        form.is_valid()
    return form


@pytest.mark.parametrize("state", ["empty", "one score chosen, the rest missing"])
def test_each_option_is_the_input_djangos_widget_writes_then_its_heart_label(state: str) -> None:
    invitation = accepted_invitation()
    form = _form(invitation)
    if state != "empty":
        form = _form(invitation, {f"factor_{form.factors[0].pk}": "4", "comment": ""})
        assert form.errors, "the other factors are required"

    options = [radio for _, field in form.factor_fields() for radio in field]

    assert len(options) == 5 * len(form.factors)
    for radio in options:
        written = heart_option(radio)
        assert written.startswith(radio.tag()), (written, radio.tag())
        assert f'<label for="{radio.id_for_label}"' in written and "heart-icon" in written
    if state != "empty":
        assert sum(" checked" in heart_option(radio) for radio in options) == 1
        assert any('aria-invalid="true"' in radio.tag() for radio in options) == any(
            'aria-invalid="true"' in heart_option(radio) for radio in options
        )


def test_a_recorded_score_shows_that_many_hearts_on() -> None:
    hearts = hearts_static(3)

    assert re.findall(r'<span class="(on|off)">', hearts) == ["on", "on", "on", "off", "off"]


def test_the_vote_page_shows_one_radio_per_score_and_factor(client: Client) -> None:
    invitation = accepted_invitation()
    client.force_login(invitation.user)

    html = client.get(f"/invitations/{invitation.pk}/vote/").content.decode()

    assert html.count('type="radio"') == 5 * invitation.campaign.factors.count()
