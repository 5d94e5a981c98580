from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "ratings"
    verbose_name = _("Ratings")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from catalog.page_cache import listing_changed

        # A card's "being gathered: n of m" reads the policy's minimum: the kept listings are renewed with it.
        post_save.connect(
            listing_changed, sender=self.get_model("RatingPolicy"), dispatch_uid="ratings.listing_changed.policy"
        )
