from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from moderation.models import Question, Rule
from moderation.selectors import active_rules


class ReportForm(forms.Form):
    rule = forms.ModelChoiceField(
        label=_("Which rule does it break?"), queryset=Rule.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    comment = forms.CharField(
        label=_("What is wrong (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = active_rules()  # type: ignore[attr-defined]


class AttemptForm(forms.Form):
    """One radio group per drawn question; the correct choices never reach the page."""

    def __init__(self, *args: Any, questions: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for number, question in enumerate(questions, start=1):
            self.fields[f"q{question.pk}"] = forms.TypedChoiceField(
                label=f"{number}. {question.text}",
                choices=[(choice.pk, choice.text) for choice in question.choices.all()],
                coerce=int,
                widget=forms.RadioSelect,
                required=False,
            )

    def answers(self) -> dict[int, int]:
        return {
            question.pk: self.cleaned_data[f"q{question.pk}"]
            for question in self.questions
            if self.cleaned_data.get(f"q{question.pk}") not in (None, "")
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Your reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
