"""Staff read admin lists and forms in their language: every header and label is a translated, human name."""

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, label_for_field
from django.db.models import Model
from django.test import Client, RequestFactory
from django.utils.functional import Promise
from django.utils.translation import override

from tests.factories import UserFactory
from tests.ratings.factories import InvitationFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "catalog", "ratings", "moderation"}
# Headers that read the same in every language, or that Django itself names.
UNIVERSAL = {"id", "__str__"}


def test_every_column_of_our_admin_lists_has_a_header_marked_for_translation(staff: Any) -> None:
    request = RequestFactory().get("/admin/")
    request.user = staff
    unmarked = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        for column in model_admin.get_list_display(request):
            if column in UNIVERSAL:
                continue
            label = label_for_field(column, model, model_admin)
            # a translatable name, never the attribute's own name ("created_at", "scores_1")
            if not isinstance(label, Promise) or "_" in str(label):
                unmarked.append(f"{model.__name__}.{getattr(column, '__name__', column)}: {label!r}")
    assert not unmarked, "\n".join(unmarked)


def test_every_field_of_our_models_is_named_for_translation() -> None:
    # The model names its fields once, so admin columns, filters, forms and error messages all read in the
    # staff member's language; an unnamed field would show its attribute name ("subject id") in every language.
    unnamed = []
    for model in (model for app in OUR_APPS for model in apps.get_app_config(app).get_models()):
        meta: Any = model._meta
        if not isinstance(meta.verbose_name, Promise) or not isinstance(meta.verbose_name_plural, Promise):
            unnamed.append(f"{model.__name__} (Meta)")
        unnamed += [
            f"{model.__name__}.{field.name}"
            for field in meta.get_fields()
            if field.concrete and not field.auto_created and not isinstance(field.verbose_name, Promise)
        ]
    assert not unnamed, "\n".join(unnamed)


def _form_labels(model: type[Model], model_admin: Any, request: Any) -> list[tuple[str, Any]]:
    """Each field of the admin's form with the label the page shows: a form field's own label, else (read-only
    fields) the model field's name or the method's description."""
    fields = model_admin.get_form(request).base_fields
    return [
        (name, fields[name].label if name in fields else label_for_field(name, model, model_admin))
        for name in flatten_fieldsets(model_admin.get_fieldsets(request))
    ]


def test_every_label_of_our_admin_forms_is_marked_for_translation(staff: Any) -> None:
    request = RequestFactory().get("/admin/")
    request.user = staff
    unmarked = []
    with override("zh-hans"):
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label not in OUR_APPS:
                continue
            for name, label in _form_labels(model, model_admin, request):
                if name in UNIVERSAL:
                    continue
                if not isinstance(label, Promise) or "_" in str(label):
                    unmarked.append(f"{model.__name__}.{name}: {label!r}")
    assert not unmarked, "\n".join(unmarked)


def test_relabelled_columns_read_in_chinese_and_still_sort(staff: Any) -> None:
    InvitationFactory(user=UserFactory(display_name="小美"))
    client = Client()
    client.force_login(staff)
    # when
    invitations = client.get("/admin/ratings/invitation/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    products = client.get("/admin/catalog/product/?o=-1", HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then
    assert '<th scope="col" class="column-user">' in invitations
    assert ">用户<" in invitations and ">评分活动<" in invitations
    assert ">user<" not in invitations and ">campaign<" not in invitations
    assert 'class="sortable column-name_zh sorted descending"' in products.content.decode()
    assert list(products.context["cl"].result_list.query.order_by)[0] == "-name_zh"
