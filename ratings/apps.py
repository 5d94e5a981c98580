from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "ratings"
    verbose_name = _("Ratings")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        post_save.connect(
            policy_changed, sender=self.get_model("RatingPolicy"), dispatch_uid="ratings.policy_changed.listings"
        )


def policy_changed(sender: type, instance: object, created: bool = False, **kwargs: Any) -> None:
    """A card's "being gathered: n of m" reads the policy's minimum: the kept listings are renewed with a change of
    it. Not with its creation (``policy_get`` writing the defaults the pages already showed)."""
    if not created:
        from catalog.page_cache import listing_changed

        listing_changed(sender, instance)
