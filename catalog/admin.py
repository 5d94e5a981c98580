"""Staff curate the catalog here: the category tree and its factors, brands, stores, products,
purchase records and community notes.

Purchase records, notes and engagement are tables of millions of rows: their lists never count the
whole table (``EstimatedCountPaginator``, ``show_full_result_count = False``), sort and search only
through indexes, filter only on fields with a few choices, and show users, products and notes by
raw id or autocomplete instead of a select of every row; they offer no facet counts either.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    ForeignKey,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from catalog import page_cache, services
from catalog.admin_pagination import EstimatedCountPaginator
from catalog.models import (
    RATING_READY_MAX_FACTORS,
    RATING_READY_MIN_FACTORS,
    Brand,
    BrandAccount,
    Category,
    Engagement,
    Factor,
    Note,
    NoteProduct,
    OrderLine,
    Product,
    Store,
)
from ratings.purchases import purchases_withdrawn
from ratings.services import stake_votes_exclude

logger = logging.getLogger(__name__)

# --- The category tree -----------------------------------------------------------------------------

#: The service keeps the tree this deep, so the ordering below places every category exactly.
TREE_LEVELS = services.CATEGORY_TREE_LEVELS
#: The lookup prefix reaching the ancestor ``i`` levels up; index 0 is the category itself.
_UP = ["parent__" * levels_up for levels_up in range(TREE_LEVELS)]
_INDENT = "\u2003\u2003"  # two em spaces per level
_BRANCH = "└\u2002"


def _has_ancestor(levels_up: int) -> Q:
    return Q(**{f"{_UP[levels_up - 1]}parent__isnull": False})


def _tree_depth() -> Case:
    return Case(
        *(When(_has_ancestor(level), then=level) for level in range(TREE_LEVELS - 1, 0, -1)),
        default=0,
        output_field=BigIntegerField(),
    )


def _tree_ordering() -> list[str | Combinable]:
    """Order categories depth-first: each parent directly followed by its children, by position.

    Sorts by the (position, id) of every node on the path from the root, slot by slot; a shorter
    path has NULL in the later slots, so a parent sorts before its children.
    """
    ordering: list[str | Combinable] = []
    for slot in range(TREE_LEVELS):
        for field in ("position", "id"):
            whens = [
                When(_has_ancestor(depth), then=F(f"{_UP[depth - slot]}{field}"))
                for depth in range(TREE_LEVELS - 1, 0, -1)
                if depth >= slot
            ]
            key = Case(*whens, default=F(field) if slot == 0 else None, output_field=BigIntegerField())
            ordering.append(key.asc(nulls_first=True))
    return ordering


def categories_in_tree_order() -> QuerySet[Category]:
    return Category.objects.annotate(tree_depth=_tree_depth()).order_by(*_tree_ordering())


def tree_label(category: Category) -> str:
    """A category's name indented by its depth (needs the ``tree_depth`` annotation)."""
    depth = getattr(category, "tree_depth", 0)
    indent = _INDENT * depth + _BRANCH if depth else ""
    return f"{indent}{category}"


class TreeCategoryChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Category) -> str:
        return tree_label(obj)


def _tree_formfield(db_field: ForeignKey[Any, Any], kwargs: dict[str, Any]) -> forms.ModelChoiceField[Any] | None:
    kwargs.setdefault("queryset", categories_in_tree_order())
    kwargs["form_class"] = TreeCategoryChoiceField
    return cast("forms.ModelChoiceField[Any] | None", db_field.formfield(**kwargs))


class FactorInlineFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        """A rating-ready category needs 5 to 10 active factors, counted as submitted."""
        super().clean()
        active_factor_count = sum(
            1
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("active")
            and not form.cleaned_data.get("DELETE")
        )
        services.category_check_rating_ready(
            rating_ready=self.instance.rating_ready, active_factor_count=active_factor_count
        )


class FactorInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Factor
    formset = FactorInlineFormSet
    fields = ("name_zh", "name_en", "slug", "description_zh", "description_en", "position", "weight", "active")
    prepopulated_fields = {"slug": ("name_en",)}
    extra = 0

    def get_extra(self, request: HttpRequest, obj: Category | None = None, **kwargs: Any) -> int:
        # A new category starts with room for the minimum number of factors; untouched rows are ignored.
        return 5 if obj is None else 1


class ParentFilter(admin.SimpleListFilter):
    """Top-level categories, or the children of one parent (listed in tree order)."""

    title = Category._meta.get_field("parent").verbose_name
    parameter_name = "parent"
    TOP_LEVEL = "none"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:  # type: ignore[type-arg]
        parents = categories_in_tree_order().filter(children__isnull=False).distinct()
        return [(self.TOP_LEVEL, str(_("(top level)"))), *((str(parent.pk), tree_label(parent)) for parent in parents)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> QuerySet[Category]:
        value = self.value()
        if value == self.TOP_LEVEL:
            return queryset.filter(parent__isnull=True)
        if value and value.isdigit():
            return queryset.filter(parent_id=int(value))
        return queryset


class CategoryAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Category
        fields = ("name_zh", "name_en", "slug", "parent", "position", "rating_ready", "min_votes_to_publish")

    def clean_parent(self) -> Category | None:
        parent: Category | None = self.cleaned_data.get("parent")
        services.category_check_parent(category=self.instance, parent=parent)
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CategoryAdminForm
    inlines = (FactorInline,)
    list_display = ("tree_name", "slug", "position", "rating_ready", "active_factor_count")
    list_filter = ("rating_ready", ParentFilter)
    search_fields = ("name_zh", "name_en", "slug")
    ordering = _tree_ordering()
    sortable_by = ("slug", "position", "rating_ready", "active_factor_count")
    prepopulated_fields = {"slug": ("name_en",)}
    actions = ("mark_rating_ready", "unmark_rating_ready")
    # Set only by adopting a factor survey's picks (ratings admin, Factor surveys).
    readonly_fields = ("factors_survey",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        active_factors = (
            Factor.objects.filter(category=OuterRef("pk"), active=True)
            .order_by()
            .values("category")
            .annotate(n=Count("pk"))
            .values("n")
        )
        queryset: QuerySet[Category] = super().get_queryset(request)
        return queryset.annotate(tree_depth=_tree_depth(), active_factor_count=Coalesce(Subquery(active_factors), 0))

    def get_readonly_fields(self, request: HttpRequest, obj: Category | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Without the factors on the page nothing would check their count, so only staff who see
        # them may switch rating on (the actions below count in the database and are always safe).
        if not (request.user.has_perm("catalog.view_factor") or request.user.has_perm("catalog.change_factor")):
            readonly += ("rating_ready",)
        return readonly

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        if db_field.name == "parent":
            return _tree_formfield(db_field, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError as exc:
            # The form validated, but the database refused the commit: on PostgreSQL the deferred
            # trigger of migration 0002 when someone else changed this category's factors meanwhile.
            logger.warning("category change refused by the database: %s", exc)
            self.message_user(
                request,
                _(
                    "Nothing was saved: someone changed this category or its factors at the same time, "
                    "so it would no longer have 5 to 10 active factors. Check the page and save again."
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    @admin.display(description=_("category"))
    def tree_name(self, category: Category) -> str:
        return tree_label(category)

    @admin.display(description=_("active factors"), ordering="active_factor_count")
    def active_factor_count(self, category: Category) -> int:
        return int(getattr(category, "active_factor_count", 0))

    @admin.action(description=_("Mark selected categories rating-ready"), permissions=["change"])
    def mark_rating_ready(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        try:
            result = services.categories_mark_rating_ready(category_ids=queryset.values_list("pk", flat=True))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        if result.marked:
            self.message_user(
                request,
                ngettext(
                    "%(count)d category is rating-ready.", "%(count)d categories are rating-ready.", len(result.marked)
                )
                % {"count": len(result.marked)},
                messages.SUCCESS,
            )
        if result.refused:
            names = ", ".join(f"{category} ({category.active_factor_count})" for category in result.refused)  # type: ignore[attr-defined]
            self.message_user(
                request,
                _(
                    "Not marked, because a rating-ready category needs %(min)d to %(max)d active factors "
                    "(active factors in brackets): %(names)s"
                )
                % {"min": RATING_READY_MIN_FACTORS, "max": RATING_READY_MAX_FACTORS, "names": names},
                messages.ERROR,
            )

    @admin.action(description=_("Take selected categories out of rating"), permissions=["change"])
    def unmark_rating_ready(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        changed = services.categories_unmark_rating_ready(category_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d category is no longer rating-ready.",
                "%(count)d categories are no longer rating-ready.",
                changed,
            )
            % {"count": changed},
            messages.SUCCESS,
        )


@admin.register(Factor)
class FactorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A read-only list to find factors across categories; they are edited on their category's page,
    where their count is checked."""

    list_display = ("name_zh", "name_en", "slug", "category", "position", "weight", "active")
    list_filter = ("active", ("category", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("category",)
    search_fields = ("name_zh", "name_en", "slug", "category__name_zh", "category__name_en")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Factor | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Factor | None = None) -> bool:
        return False


# --- Brands, stores, products ------------------------------------------------------------------------


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name_zh", "name_en", "slug", "country")
    list_filter = ("country",)
    search_fields = ("name_zh", "name_en", "slug")
    prepopulated_fields = {"slug": ("name_en",)}


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name_zh", "name_en", "slug", "kind", "brand")
    list_filter = ("kind",)
    list_select_related = ("brand",)
    search_fields = ("name_zh", "name_en", "slug")
    autocomplete_fields = ("brand",)
    prepopulated_fields = {"slug": ("name_en",)}


@admin.register(BrandAccount)
class BrandAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Staff link an account to the brand or the store it speaks for: from then on it sees ``/brand/`` and
    can never steer that brand's ratings (``catalog.stakes``). The database keeps one target per link and
    one link per account and target; a duplicate is a form error, not a failed commit."""

    list_display = ("user", "brand", "store", "created_at")
    list_select_related = ("user", "brand", "store")
    search_fields = ("user__email", "user__display_name", "brand__name_en", "brand__name_zh", "store__name_en")
    autocomplete_fields = ("user", "brand", "store")
    fields = ("user", "brand", "store", "note")

    def save_model(self, request: HttpRequest, obj: BrandAccount, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        excluded = stake_votes_exclude(link=obj)  # the service's second half: the form saved the link
        if excluded:
            self.message_user(
                request,
                ngettext(
                    "This account rated %(count)d product it now speaks for: that rating no longer counts (reason: "
                    "given before the link), the product is re-scored and the account was told in its inbox.",
                    "This account rated %(count)d products it now speaks for: those ratings no longer count "
                    "(reason: given before the link), the products are re-scored and the account was told in its "
                    "inbox.",
                    excluded,
                )
                % {"count": excluded},
                messages.WARNING,
            )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name_zh", "name_en", "brand", "category", "store", "price", "is_active")
    list_filter = ("is_active", ("category", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("brand", "category", "store")
    search_fields = ("name_zh", "name_en", "slug", "brand__name_zh", "brand__name_en")
    autocomplete_fields = ("brand", "store")
    prepopulated_fields = {"slug": ("name_en",)}
    readonly_fields = ("created_at", "updated_at")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        if db_field.name == "category":
            return _tree_formfield(db_field, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The cached page shows name, price and whether it is still sold: the next visit rebuilds it.
        product_id = obj.pk
        transaction.on_commit(lambda: page_cache.forget([product_id]))


# --- Purchase records and community: tables of millions of rows ------------------------------------


def _users_with_email(term: str) -> QuerySet[User]:
    return User.objects.filter(email__iexact=term)


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "order_ref",
        "line_no",
        "buyer_email",
        "product",
        "store",
        "quantity",
        "unit_price",
        "paid_at",
        "status",
    )
    list_filter = ("status",)
    list_select_related = ("buyer", "product", "store")
    # Searched by exact value through indexes (see get_search_results), never by a scan.
    search_fields = ("=order_ref", "=buyer__email")
    search_help_text = _("An exact order reference or buyer email.")
    raw_id_fields = ("buyer",)
    autocomplete_fields = ("product", "store")
    readonly_fields = ("created_at", "updated_at")
    sortable_by = ("order_ref",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would group the whole table on every page view.
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OrderLine], search_term: str
    ) -> tuple[QuerySet[OrderLine], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(buyer__in=_users_with_email(term)), False
        return queryset.filter(order_ref=term), False

    @admin.display(description=_("buyer"))
    def buyer_email(self, line: OrderLine) -> str:
        return line.buyer.email

    def save_model(self, request: HttpRequest, obj: OrderLine, form: forms.ModelForm[OrderLine], change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.status != OrderLine.Status.PAID:
            # In the form's transaction: the refund and what it takes back are saved together.
            withdrawal = purchases_withdrawn(order_line_ids=[obj.pk])
            if withdrawal.revoked or withdrawal.excluded:
                message = _("Purchase withdrawn: %(revoked)d invitation(s) revoked, %(excluded)d vote(s) excluded.")
                self.message_user(request, message % {"revoked": withdrawal.revoked, "excluded": withdrawal.excluded})


class NoteProductInline(admin.TabularInline):  # type: ignore[type-arg]
    model = NoteProduct
    fields = ("product",)
    autocomplete_fields = ("product",)
    extra = 1


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("title", "author", "visibility", "likes_count", "saves_count", "published_at")
    list_filter = ("visibility",)
    list_select_related = ("author",)
    search_fields = ("title", "=author__email")
    search_help_text = _("A note number, an author's email, or words of the title.")
    raw_id_fields = ("author",)
    readonly_fields = ("likes_count", "saves_count", "created_at", "updated_at")
    inlines = (NoteProductInline,)
    sortable_by = ("published_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would group the whole table on every page view.
    show_facets = admin.ShowFacets.NEVER
    actions = ("hide", "show")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Note], search_term: str
    ) -> tuple[QuerySet[Note], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        if "@" in term:
            return queryset.filter(author__in=_users_with_email(term)), False
        return queryset.filter(title__icontains=term), False

    @admin.action(description=_("Hide selected notes"), permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Note]) -> None:
        self._set_visibility(request, queryset, Note.Visibility.HIDDEN)

    @admin.action(description=_("Show selected notes again"), permissions=["change"])
    def show(self, request: HttpRequest, queryset: QuerySet[Note]) -> None:
        self._set_visibility(request, queryset, Note.Visibility.VISIBLE)

    def _set_visibility(self, request: HttpRequest, queryset: QuerySet[Note], visibility: Note.Visibility) -> None:
        # A conditional update: notes already in that state are left alone, so a repeated action is harmless.
        changed = queryset.exclude(visibility=visibility).update(visibility=visibility, updated_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d note is now “%(state)s”.", "%(count)d notes are now “%(state)s”.", changed)
            % {"count": changed, "state": visibility.label},
            messages.SUCCESS,
        )


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-mostly: engagement arrives from the community; staff look, and may delete abuse."""

    list_display = ("id", "kind", "note", "user", "created_at")
    list_filter = ("kind",)
    list_select_related = ("note", "user")
    search_fields = ("=note__id", "=user__email")
    search_help_text = _("A note number or a user's email.")
    raw_id_fields = ("note", "user")
    sortable_by = ("created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would group the whole table on every page view.
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Engagement], search_term: str
    ) -> tuple[QuerySet[Engagement], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(note_id=int(term)), False
        if "@" in term:
            return queryset.filter(user__in=_users_with_email(term)), False
        return queryset.none(), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Engagement | None = None) -> bool:
        return False
