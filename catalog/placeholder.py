"""Placeholder product images drawn as SVG, so nothing is ever fetched from the internet."""

import hashlib

from django.utils.html import escape

from catalog.models import Product

_PALETTE = [
    ("#ffe4e6", "#e11d48"),
    ("#fef3c7", "#b45309"),
    ("#dcfce7", "#15803d"),
    ("#e0f2fe", "#0369a1"),
    ("#ede9fe", "#6d28d9"),
    ("#fce7f3", "#be185d"),
    ("#f1f5f9", "#334155"),
    ("#ffedd5", "#c2410c"),
]


def product_placeholder_svg(product: Product) -> str:
    """A square tile in a colour derived from the product, with its brand and a bottle outline."""
    digest = hashlib.sha256(product.slug.encode()).digest()
    background, ink = _PALETTE[digest[0] % len(_PALETTE)]
    brand = escape(product.brand.name_en[:18])
    initials = escape("".join(word[0] for word in product.brand.name_en.split()[:2]).upper() or "?")
    shape_height = 110 + digest[1] % 50
    top = 250 - shape_height
    return f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 320" role="img" aria-label="{brand}">
<rect width="320" height="320" fill="{background}"/>
<rect x="125" y="{top - 22}" width="70" height="26" rx="6" fill="{ink}" opacity="0.75"/>
<rect x="100" y="{top}" width="120" height="{shape_height}" rx="22" fill="#ffffff" stroke="{ink}" stroke-width="4"/>
<text x="160" y="{top + shape_height / 2 + 12}" text-anchor="middle" font-family="sans-serif" font-size="34"
 font-weight="700" fill="{ink}">{initials}</text>
<text x="160" y="292" text-anchor="middle" font-family="sans-serif" font-size="20" fill="{ink}">{brand}</text>
</svg>"""
