from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest
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

    def try_save(self, request: HttpRequest) -> tuple[Any, Any]:
        """Take as long for an address that has an account as for one that has none.

        allauth (ACCOUNT_PREVENT_ENUMERATION) already answers both with the same page, emailing the
        owner of a known address instead of making a second account; but only a new account's
        password gets hashed, the one slow step, so a known address answered many times faster.
        Hashing it anyway, and throwing the hash away, leaves the time saying nothing.
        """
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1", ""))
        user, response = super().try_save(request)
        return user, response
