"""The respondent's form: a place for every candidate (a number select each, which works without
JavaScript; the page's script adds up/down buttons that set the same selects) and one suggestion."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ratings.models import SurveyCandidate
from ratings.surveys import SUGGESTION_MAX_LENGTH
from xhs.free_text import FreeTextField

PLACE_PREFIX = "place_"


class SurveyForm(forms.Form):
    suggestion = FreeTextField(
        label=_("A factor of your own (optional)"),
        required=False,
        max_length=SUGGESTION_MAX_LENGTH,
        help_text=_("Is something missing that matters to you when you choose these products? Name it."),
    )

    def __init__(self, *args: Any, candidates: list[SurveyCandidate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        choices = [(place, str(place)) for place in range(1, len(candidates) + 1)]
        for place, candidate in enumerate(candidates, start=1):
            self.fields[f"{PLACE_PREFIX}{candidate.pk}"] = forms.TypedChoiceField(
                label=candidate.name, choices=choices, coerce=int, initial=place
            )

    def candidate_fields(self) -> list[tuple[SurveyCandidate, forms.BoundField]]:
        return [(candidate, self[f"{PLACE_PREFIX}{candidate.pk}"]) for candidate in self.candidates]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        places = {c.pk: cleaned.get(f"{PLACE_PREFIX}{c.pk}") for c in self.candidates}
        if None in places.values():
            return cleaned
        taken: dict[int, list[int]] = {}
        for candidate_id, place in places.items():
            taken.setdefault(place, []).append(candidate_id)  # type: ignore[arg-type]
        for shared in (ids for ids in taken.values() if len(ids) > 1):
            for candidate_id in shared:
                self.add_error(f"{PLACE_PREFIX}{candidate_id}", _("Another factor has this place too."))
        if any(len(ids) > 1 for ids in taken.values()):
            raise forms.ValidationError(_("Give every factor its own place: each number once."))
        cleaned["ranking"] = [candidate_id for _place, candidate_id in sorted((p, c) for c, p in places.items())]
        return cleaned
