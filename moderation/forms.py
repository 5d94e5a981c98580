from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation.models import Question, Rule
from moderation.selectors import active_rules
from xhs.free_text import FreeTextField


class ReportForm(forms.Form):
    rule = forms.ModelChoiceField(
        label=_("Which rule does it break?"), queryset=Rule.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    comment = FreeTextField(
        label=_("What is wrong (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = active_rules()  # type: ignore[attr-defined]


class AttemptForm(forms.Form):
    """One radio group per drawn question, each required, and a confirmation before grading: an
    attempt is graded once, so a half-answered page is sent back with the answers kept, never graded.
    The correct choices never reach the page."""

    confirm = forms.BooleanField(
        label=_("I have answered every question and want my answers graded now."),
        error_messages={"required": _("Tick the box to confirm: an attempt is graded only once.")},
    )

    def __init__(self, *args: Any, questions: list[Question], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for number, question in enumerate(questions, start=1):
            self.fields[f"q{question.pk}"] = forms.TypedChoiceField(
                label=f"{number}. {question.text}",
                choices=[(choice.pk, choice.text) for choice in question.choices.all()],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose an answer to this question.")},
            )
        self.order_fields([f"q{question.pk}" for question in questions] + ["confirm"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        missing = sum(1 for question in self.questions if f"q{question.pk}" in self.errors)
        if missing:
            raise forms.ValidationError(
                ngettext(
                    "%(count)d question has no answer yet; nothing was graded.",
                    "%(count)d questions have no answer yet; nothing was graded.",
                    missing,
                )
                % {"count": missing}
            )
        return cleaned

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q{question.pk}"] for question in self.questions]

    def answers(self) -> dict[int, int]:
        return {question.pk: self.cleaned_data[f"q{question.pk}"] for question in self.questions}


class ReasonForm(forms.Form):
    reason = FreeTextField(label=_("Your reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class CounterfeitReportForm(forms.Form):
    """The store the buyer bought from, among their genuine purchases of the product, and what looks wrong.

    The store is taken as a number and checked by the service (``counterfeits.report_submit``), which
    refuses anyone without a kept purchase from it with a message that says so."""

    store = forms.IntegerField(label=_("Where did you buy it?"), widget=forms.RadioSelect)
    description = FreeTextField(
        label=_("What makes it look fake?"),
        max_length=500,
        help_text=_("For example the packaging, the batch code, the smell or texture. 500 characters at most."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].widget.choices = stores
        if len(stores) == 1:
            self.fields["store"].initial = stores[0][0]
