"""Errors answer in the site's own voice, in the reader's language, with a way back."""

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from moderation.models import ManagerTerm


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom), path("", include("xhs.urls"))]


@pytest.mark.django_db
def test_a_missing_page_is_a_branded_404_with_a_way_home(client: Client) -> None:
    # when
    en = client.get("/no-such-page/", headers={"accept-language": "en"})
    zh = client.get("/no-such-page/", headers={"accept-language": "zh-hans"})
    # then
    assert en.status_code == zh.status_code == 404
    page = en.content.decode()
    assert "Page not found" in page
    assert 'href="/"' in page and "Back to the home page" in page
    assert '<meta name="robots" content="noindex">' in page
    assert "页面不存在" in zh.content.decode()


@pytest.mark.django_db
def test_a_forbidden_page_says_so_in_words_not_a_bare_403(client: Client, buyer: Any) -> None:
    # given a signed-in buyer who is not an ecosystem manager
    assert not ManagerTerm.objects.filter(user=buyer).exists()
    client.force_login(buyer)
    # when
    response = client.get("/moderation/", headers={"accept-language": "en"})
    # then
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page
    assert buyer.public_name in page  # the site's header, signed in: the way back is there
    assert "Back to the home page" in page


@pytest.mark.django_db
def test_an_expired_form_explains_itself_and_that_nothing_was_saved() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": "a@b.c", "password": "x"}, headers={"accept-language": "en"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert "nothing was saved" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.urls("tests.test_error_pages")
def test_a_server_error_is_a_branded_500_in_the_readers_language() -> None:
    client = Client(raise_request_exception=False)
    en = client.get("/boom/", headers={"accept-language": "en"})
    zh = client.get("/boom/", headers={"accept-language": "zh-hans"})
    assert en.status_code == zh.status_code == 500
    assert "Something went wrong on our side" in en.content.decode()
    assert "nothing you sent was lost" in en.content.decode()
    assert "出了问题" in zh.content.decode()
