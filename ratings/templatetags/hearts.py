"""The hearts of the rating form and of a recorded vote, written in Python: a form of 5-10 factors has 25-50 options
and a vote as many hearts, which as a widget template and an included SVG each were most of those pages' CPU."""

from django import template
from django.forms.boundfield import BoundWidget
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

#: The heart every score is drawn with.
HEART_SVG = mark_safe(  # noqa: S308 - a constant  # nosec B308 B703
    '<svg class="heart-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">'
    '<path d="M12 20.7s-7.4-4.5-9.5-9C1 8.4 3.1 4.6 6.8 4.6c2.1 0 3.5 1.1 4.2 2.4h2c.7-1.3 2.1-2.4 4.2-2.4 3.7 0 '
    '5.8 3.8 4.3 7.1-2.1 4.5-9.5 9-9.5 9z"/></svg>'
)


def _attributes(attrs: dict[str, object]) -> SafeString:
    """Django's ``django/forms/widgets/attrs.html``: each attribute but those set to False, a True one bare."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


@register.simple_tag
def heart_option(radio: BoundWidget) -> SafeString:
    """One score of a factor: the radio input exactly as its widget's template writes it (``radio.tag``), and its
    label, a heart with the score and, for screen readers, its meaning."""
    data = radio.data
    value = "" if data["value"] is None else format_html(' value="{}"', data["value"])
    return format_html(
        '<input type="{}" name="{}"{}{}><label for="{}" title="{} · {}">{}<span class="heart-num" aria-hidden="true">{}'
        '</span><span class="visually-hidden">{} · {}</span></label>',
        data["type"],
        data["name"],
        value,
        _attributes(data["attrs"]),
        radio.id_for_label,
        data["value"],
        radio.choice_label,
        HEART_SVG,
        data["value"],
        data["value"],
        radio.choice_label,
    )


@register.simple_tag
def hearts_static(score: int) -> SafeString:
    """A recorded score as five hearts, the first ``score`` of them on."""
    return format_html_join(
        "", '<span class="{}">{}</span>', (("on" if place <= score else "off", HEART_SVG) for place in range(1, 6))
    )
