from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users")

    def ready(self) -> None:
        from accounts.backends import user_changed

        # The signed-in account's cached copy (accounts.backends) is forgotten whenever the row changes.
        user = self.get_model("User")
        post_save.connect(user_changed, sender=user, dispatch_uid="accounts.user_forget.save")
        post_delete.connect(user_changed, sender=user, dispatch_uid="accounts.user_forget.delete")
