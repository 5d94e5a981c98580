"""Staff read admin lists in their language: every column header is marked for translation."""

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.test import Client, RequestFactory
from django.utils.functional import Promise

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
            if not isinstance(label, Promise):
                unmarked.append(f"{model.__name__}.{getattr(column, '__name__', column)}: {label!r}")
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
