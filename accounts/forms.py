from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.display_names import display_name_clean


class SignupForm(AllauthSignupForm):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=60,
        required=False,
        help_text=_("Shown next to your ratings and notes. Leave empty to stay anonymous."),
    )

    def clean_display_name(self) -> str:
        """Normalised; invisible characters and names resembling staff or system names refused."""
        return display_name_clean(self.cleaned_data.get("display_name", ""))
