from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from catalog.page_cache import listing_changed
        from catalog.stakes import link_forget

        # Whether an account is a brand's is cached (catalog.stakes.brand_link_cached): forgotten on every change.
        link = self.get_model("BrandAccount")
        post_save.connect(link_forget, sender=link, dispatch_uid="catalog.link_forget.save")
        post_delete.connect(link_forget, sender=link, dispatch_uid="catalog.link_forget.delete")
        # The home page and the category pages are kept rendered (catalog.page_cache.ListingSlot): renewed on every
        # change to what their cards, list and tree show.
        for name in ("Product", "Category", "Factor", "Brand", "Store"):
            model = self.get_model(name)
            post_save.connect(listing_changed, sender=model, dispatch_uid=f"catalog.listing_changed.save.{name}")
            post_delete.connect(listing_changed, sender=model, dispatch_uid=f"catalog.listing_changed.delete.{name}")
