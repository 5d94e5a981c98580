"""The rating form, built from a campaign's frozen factors. It trusts nothing the browser sends back:
field names come from the campaign, scores must be one of "1".."5", and the time the form was
shown travels in a signed token."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ratings.models import CampaignFactor
from ratings.selectors import ReviewSort
from ratings.services import COMMENT_MAX_LENGTH
from xhs.free_text import FreeTextField

SCORE_CHOICES = [
    (1, _("Very poor")),
    (2, _("Poor")),
    (3, _("Fair")),
    (4, _("Good")),
    (5, _("Excellent")),
]
FACTOR_PREFIX = "factor_"
TOKEN_SALT = "ratings.vote-form"  # noqa: S105 - a signing salt, not a secret
#: A form left open longer than this is refused (and shown again with a fresh token).
TOKEN_MAX_AGE = 2 * 24 * 3600


def form_token(*, invitation_id: int, amends_revision: int | None, now: datetime | None = None) -> str:
    started = int((now or timezone.now()).timestamp())
    return signing.dumps({"i": invitation_id, "t": started, "r": amends_revision}, salt=TOKEN_SALT)


class RatingForm(forms.Form):
    comment = FreeTextField(
        label=_("Comment (optional)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What should other shoppers know? At most 1000 characters."),
    )

    def __init__(
        self,
        *args: Any,
        factors: list[CampaignFactor],
        invitation_id: int,
        amends_revision: int | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.factors = factors
        self.invitation_id = invitation_id
        self.amends_revision = amends_revision
        self._started_at: int | None = None
        #: The state of the vote the submitted form was showing (None: a first vote), from the token.
        self.submitted_revision: int | None = None
        for factor in factors:
            self.fields[f"{FACTOR_PREFIX}{factor.pk}"] = forms.TypedChoiceField(
                label=factor.name,
                help_text=factor.description,
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Give this factor a score from 1 to 5."),
                    "invalid_choice": _("Choose a score from 1 to 5."),
                },
            )
        # Keep the comment after the factors.
        self.order_fields([*(f"{FACTOR_PREFIX}{factor.pk}" for factor in factors), "comment"])

    def factor_fields(self) -> list[tuple[CampaignFactor, forms.BoundField]]:
        return [(factor, self[f"{FACTOR_PREFIX}{factor.pk}"]) for factor in self.factors]

    @property
    def token(self) -> str:
        """The token to put in the page: the submitted one while it is valid, else a fresh one."""
        submitted = self.data.get("started", "") if self.is_bound else ""
        if submitted and self._load_token(submitted) is not None:
            return str(submitted)
        return form_token(invitation_id=self.invitation_id, amends_revision=self.amends_revision)

    def _load_token(self, token: str) -> dict[str, Any] | None:
        try:
            payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        except signing.BadSignature:
            return None
        if not isinstance(payload, dict) or payload.get("i") != self.invitation_id:
            return None
        revision = payload.get("r")
        if not isinstance(payload.get("t"), int) or not (revision is None or isinstance(revision, int)):
            return None
        return payload

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        known = set(self.fields)
        if any(key.startswith(FACTOR_PREFIX) and key not in known for key in self.data):
            raise forms.ValidationError(
                _("The form holds a factor this product is not rated on. Please fill in the form again."),
                code="foreign_factor",
            )
        payload = self._load_token(str(self.data.get("started", "")))
        if payload is None:
            raise forms.ValidationError(
                _("This form has expired or was changed. Please check your scores and submit again."),
                code="bad_token",
            )
        self._started_at = int(payload["t"])
        self.submitted_revision = payload["r"]
        return cleaned

    def scores(self) -> dict[int, int]:
        return {factor.pk: int(self.cleaned_data[f"{FACTOR_PREFIX}{factor.pk}"]) for factor in self.factors}

    def seconds_to_fill(self, now: datetime | None = None) -> int | None:
        if self._started_at is None:
            return None
        return max(0, int((now or timezone.now()).timestamp()) - self._started_at)


class ReviewFilterForm(forms.Form):
    """The reader's order and filter of a product's reviews, from the query string. Anything invalid is
    ignored (the default order, no filter), never an error page: a shared link may be stale."""

    sort = forms.ChoiceField(label=_("Sort by"), choices=ReviewSort.choices, required=False)
    factor = forms.TypedChoiceField(label=_("Factor"), coerce=int, required=False, empty_value=None)
    score = forms.TypedChoiceField(
        label=_("Score"), choices=[("", _("Any score")), *SCORE_CHOICES], coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, factors: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        """``factors``: (id, name) of each catalogue factor of the product's category, kept with the page's parts."""
        super().__init__(*args, **kwargs)
        field = self.fields["factor"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared just above
        field.choices = [("", _("Any factor")), *factors]

    def params(self) -> str:
        """The valid choices as a query string, for the pages' links (empty for the defaults)."""
        query = self.query()
        kept = {"sort": query["sort"]} if query["sort"] != ReviewSort.NEWEST else {}
        if query["factor_id"] is not None:
            kept |= {"factor": query["factor_id"], "score": query["score"]}
        return urlencode(kept)

    def query(self) -> dict[str, Any]:
        """Keyword arguments for ``selectors.rating_comments``."""
        self.is_valid()  # fields that do not validate are left out of cleaned_data: ignored
        data = self.cleaned_data
        factor, score = data.get("factor"), data.get("score")
        return {
            "sort": data.get("sort") or ReviewSort.NEWEST,
            "factor_id": factor if score is not None else None,
            "score": score if factor is not None else None,
        }
