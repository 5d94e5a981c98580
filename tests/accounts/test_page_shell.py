"""The page shell's fixed blocks: rendered once per process and language, and never holding a request's value."""

import pytest
from django.template import TemplateSyntaxError, engines
from django.urls import reverse
from django.utils import translation

SHELL = (
    "{% load i18n page_shell static %}{% fixed %}<a href=\"{% url 'catalog:search' %}\">{% translate 'Search' %}</a>"
    "<img src=\"{% static 'img/heart.svg' %}\">{% endfixed %}"
)


def test_a_fixed_block_renders_each_language_its_own_text() -> None:
    template = engines["django"].from_string(SHELL)

    with translation.override("en"):
        english = template.render({})
        english_again = template.render({})
    with translation.override("zh-hans"):
        chinese = template.render({})

    assert english == english_again
    assert f'<a href="{reverse("catalog:search")}">Search</a>' in english
    assert "Search</a>" not in chinese
    assert chinese.replace(">搜索<", ">Search<") == english


@pytest.mark.parametrize(
    "inside",
    [
        "{{ user.email }}",
        "{% translate greeting %}",
        "{% translate 'Search' as label %}",
        "{% url 'ratings:invitation' pk %}",
        "{% url name %}",
        "{% static path %}",
        "{% if user.is_staff %}x{% endif %}",
        "{% csrf_token %}",
    ],
)
def test_a_fixed_block_refuses_what_a_request_could_change(inside: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="no request changes"):
        engines["django"].from_string(f"{{% load i18n page_shell static %}}{{% fixed %}}{inside}{{% endfixed %}}")
