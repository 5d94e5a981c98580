from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _forget_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    from accounts.backends import user_forget

    user_forget([instance.pk])


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users")

    def ready(self) -> None:
        # The signed-in account's cached copy (accounts.backends) is forgotten whenever the row changes.
        user = self.get_model("User")
        post_save.connect(_forget_user, sender=user, dispatch_uid="accounts.user_forget.save")
        post_delete.connect(_forget_user, sender=user, dispatch_uid="accounts.user_forget.delete")
