"""The catalog side of the seed: categories and their factors, brands, stores and products.

Popularity is long-tailed on purpose: a product's sales weight is lognormal (with a little of its
brand's size in it), so a few hundred products carry most sales, as on any marketplace, and the
eligibility job has a real "top N" to find. Its community weight is correlated with the sales
weight but not equal to it, because some products sell quietly and others are talked about more
than they are bought.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.utils.text import slugify

from seeding import vocabulary as words
from seeding.calendar import Calendar
from seeding.columns import NULL_INT, US_PER_DAY, Chunk
from seeding.taxonomy import DOMAINS, FACTORS, TAXONOMY, LeafSpec, leaves

STORE_KINDS = (b"flagship", b"authorized", b"cross_border")
FLAGSHIP, AUTHORIZED, CROSS_BORDER = 0, 1, 2
#: Share of a domain's brands (the biggest) that run their own flagship store.
_FLAGSHIP_SHARE = 0.45


@dataclass
class Assortment:
    """Everything later steps sample from, plus the rows of the catalog tables. Index i has id i + 1."""

    leaves: list[LeafSpec]
    leaf_category_id: npt.NDArray[np.int64]
    product_leaf: npt.NDArray[np.int64]
    product_store: npt.NDArray[np.int64]
    product_price: npt.NDArray[np.int64]
    product_launch_us: npt.NDArray[np.int64]
    #: Relative chance of being bought, and of being written about.
    sales_weight: npt.NDArray[np.float64]
    note_weight: npt.NDArray[np.float64]
    product_name_zh: list[str]
    product_name_en: list[str]
    product_kind_zh: list[str]
    product_kind_en: list[str]
    store_rows: Chunk
    categories: Chunk
    factors: Chunk
    brands: Chunk
    products: Chunk

    @property
    def product_count(self) -> int:
        return len(self.product_leaf)

    def leaf_index(self, slug: str) -> int:
        return next(i for i, leaf in enumerate(self.leaves) if leaf.slug == slug)


def _split_size(size: str) -> tuple[str, str]:
    zh, _, en = size.partition("|")
    return zh, en or zh


def _text(values: list[str]) -> npt.NDArray[np.object_]:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _unique_slugs(names: list[str], taken: set[str]) -> list[str]:
    slugs = []
    for name in names:
        base = slugify(name)[:70] or "x"
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        slugs.append(slug)
    return slugs


def _zipf(count: int, exponent: float) -> npt.NDArray[np.float64]:
    return np.asarray((np.arange(count) + 1.0) ** -exponent, dtype=np.float64)


def _taxonomy_rows(created_us: int) -> tuple[Chunk, Chunk, npt.NDArray[np.int64]]:
    """Categories (parents first, then leaves, not rating-ready yet) and the leaves' factors."""
    names_zh, names_en, slugs, positions, parents = [], [], [], [], []
    for position, parent in enumerate(TAXONOMY):
        names_zh.append(parent.name_zh)
        names_en.append(parent.name_en)
        slugs.append(parent.slug)
        positions.append(position)
        parents.append(NULL_INT)
    for parent_index, parent in enumerate(TAXONOMY):
        for position, leaf in enumerate(parent.leaves):
            names_zh.append(leaf.name_zh)
            names_en.append(leaf.name_en)
            slugs.append(leaf.slug)
            positions.append(position)
            parents.append(parent_index + 1)
    count = len(slugs)
    categories: Chunk = {
        "id": np.arange(1, count + 1, dtype=np.int64),
        "name_zh": _text(names_zh),
        "name_en": _text(names_en),
        "slug": _text(slugs),
        "position": np.array(positions, dtype=np.int64),
        "rating_ready": np.zeros(count, dtype=bool),
        "created_at": np.full(count, created_us, dtype=np.int64),
        "updated_at": np.full(count, created_us, dtype=np.int64),
        "parent_id": np.array(parents, dtype=np.int64),
    }
    leaf_ids = np.arange(len(TAXONOMY) + 1, count + 1, dtype=np.int64)
    factor_category, factor_slugs, factor_positions = [], [], []
    for leaf_id, (_parent, leaf) in zip(leaf_ids.tolist(), leaves(), strict=True):
        for position, slug in enumerate(leaf.factors):
            factor_category.append(leaf_id)
            factor_slugs.append(slug)
            factor_positions.append(position)
    specs = [FACTORS[slug] for slug in factor_slugs]
    total = len(specs)
    factors: Chunk = {
        "id": np.arange(1, total + 1, dtype=np.int64),
        "name_zh": _text([spec.name_zh for spec in specs]),
        "name_en": _text([spec.name_en for spec in specs]),
        "slug": _text(factor_slugs),
        "description_zh": _text([spec.description_zh for spec in specs]),
        "description_en": _text([spec.description_en for spec in specs]),
        "position": np.array(factor_positions, dtype=np.int64),
        "weight": np.full(total, 100, dtype=np.int64),  # 1.00: every factor weighs the same
        "active": np.ones(total, dtype=bool),
        "created_at": np.full(total, created_us, dtype=np.int64),
        "updated_at": np.full(total, created_us, dtype=np.int64),
        "category_id": np.array(factor_category, dtype=np.int64),
    }
    return categories, factors, leaf_ids


@dataclass
class _Brands:
    domain: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    foreign: npt.NDArray[np.bool_]
    home_parent: npt.NDArray[np.int64]
    name_zh: list[str]
    name_en: list[str]
    slug: list[str]
    rows: Chunk


def _brands(rng: np.random.Generator, count: int, calendar: Calendar) -> _Brands:
    parent_weight = np.array([sum(leaf.weight for leaf in parent.leaves) for parent in TAXONOMY])
    parent_domain = np.array([DOMAINS.index(parent.domain) for parent in TAXONOMY])
    domain_weight = np.bincount(parent_domain, weights=parent_weight, minlength=len(DOMAINS))
    per_domain = np.maximum(3, np.round(count * domain_weight / domain_weight.sum()).astype(np.int64))
    per_domain[0] += count - per_domain.sum()  # beauty absorbs the rounding
    domain, weight, home_parent, countries, names_zh, names_en = [], [], [], [], [], []
    used: set[str] = set()
    for d, name in enumerate(DOMAINS):
        firsts, seconds = words.BRAND_PARTS[name]
        grid = len(firsts) * len(seconds)
        picks: list[tuple[str, str]] = []
        round_no = 0
        while len(picks) < per_domain[d]:
            round_no += 1
            for p in rng.permutation(grid).tolist():
                first, second = firsts[p // len(seconds)], seconds[p % len(seconds)]
                zh, en = first[0] + second[0], f"{first[1]} {second[1]}"
                if round_no > 1:
                    zh, en = f"{zh}{round_no}", f"{en} {round_no}"
                if en in used:
                    continue
                used.add(en)
                picks.append((zh, en))
                if len(picks) == per_domain[d]:
                    break
        n = len(picks)
        names_zh += [zh for zh, _ in picks]
        names_en += [en for _, en in picks]
        domain += [d] * n
        weight.append(_zipf(n, 0.9))
        parents = np.flatnonzero(parent_domain == d)
        home_parent.append(rng.choice(parents, size=n, p=parent_weight[parents] / parent_weight[parents].sum()))
        codes = [code for code, _ in words.BRAND_COUNTRIES[name]]
        shares = np.array([share for _, share in words.BRAND_COUNTRIES[name]])
        countries += [codes[i] for i in rng.choice(len(codes), size=n, p=shares / shares.sum()).tolist()]
    total = len(names_en)
    slugs = _unique_slugs(names_en, set())
    created = calendar.now_us - rng.integers(1300, 3000, size=total) * US_PER_DAY
    rows: Chunk = {
        "id": np.arange(1, total + 1, dtype=np.int64),
        "name_zh": _text(names_zh),
        "name_en": _text(names_en),
        "slug": _text(slugs),
        "country": np.array([code.encode() for code in countries], dtype="S2"),
        "created_at": created,
        "updated_at": created,
    }
    return _Brands(
        domain=np.array(domain, dtype=np.int64),
        weight=np.concatenate(weight),
        foreign=np.array([code != "CN" for code in countries]),
        home_parent=np.concatenate(home_parent).astype(np.int64),
        name_zh=names_zh,
        name_en=names_en,
        slug=slugs,
        rows=rows,
    )


@dataclass
class _Stores:
    domain: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    flagship_of_brand: npt.NDArray[np.int64]
    rows: Chunk


def _stores(rng: np.random.Generator, brands: _Brands, calendar: Calendar) -> _Stores:
    names_zh: list[str] = []
    names_en: list[str] = []
    kinds: list[int] = []
    domains: list[int] = []
    brand_ids: list[int] = []
    weights: list[npt.NDArray[np.float64]] = []
    flagship_of_brand = np.full(len(brands.domain), -1, dtype=np.int64)
    for d, domain in enumerate(DOMAINS):
        members = np.flatnonzero(brands.domain == d)
        biggest = members[np.argsort(-brands.weight[members], kind="stable")]
        owners = biggest[: int(np.ceil(_FLAGSHIP_SHARE * len(members)))]
        for b in owners.tolist():
            flagship_of_brand[b] = len(kinds)
            names_zh.append(f"{brands.name_zh[b]}官方旗舰店")
            names_en.append(f"{brands.name_en[b]} Official Flagship Store")
            kinds.append(FLAGSHIP)
            domains.append(d)
            brand_ids.append(b + 1)
        weights.append(np.ones(len(owners)))
        domain_zh, domain_en = words.DOMAIN_NAMES[domain]
        foreign = sorted({code for code, _ in words.BRAND_COUNTRIES[domain]} - {"CN"})
        for kind, count, places, suffixes in (
            (AUTHORIZED, max(2, round(0.25 * len(members))), words.CITIES, words.AUTHORIZED_SUFFIXES),
            (
                CROSS_BORDER,
                max(1, round(0.1 * len(members))),
                [words.COUNTRY_NAMES[code] for code in foreign],
                words.CROSS_BORDER_SUFFIXES,
            ),
        ):
            combos = [(place, suffix) for place in places for suffix in suffixes]
            order = rng.permutation(len(combos)).tolist()
            for k in range(count):
                (place_zh, place_en), (suffix_zh, suffix_en) = combos[order[k % len(combos)]]
                branch = k // len(combos)
                names_zh.append(f"{place_zh}{domain_zh}{suffix_zh}" + (f"{branch + 1}号店" if branch else ""))
                names_en.append(f"{place_en} {domain_en} {suffix_en}" + (f" No. {branch + 1}" if branch else ""))
                kinds.append(kind)
                domains.append(d)
                brand_ids.append(NULL_INT)
            weights.append(_zipf(count, 0.8))
    total = len(kinds)
    created = calendar.now_us - rng.integers(1200, 2400, size=total) * US_PER_DAY
    kind_codes = np.array(kinds, dtype=np.int64)
    rows: Chunk = {
        "id": np.arange(1, total + 1, dtype=np.int64),
        "name_zh": _text(names_zh),
        "name_en": _text(names_en),
        "slug": _text(_unique_slugs(names_en, set())),
        "kind": np.array(STORE_KINDS, dtype="S12")[kind_codes],
        "created_at": created,
        "updated_at": created,
        "brand_id": np.array(brand_ids, dtype=np.int64),
    }
    return _Stores(
        domain=np.array(domains, dtype=np.int64),
        kind=kind_codes,
        weight=np.concatenate(weights),
        flagship_of_brand=flagship_of_brand,
        rows=rows,
    )


def _round_price(yuan: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Shelf prices in cents that end the way Chinese shops price: 1299, 89, 12.90."""
    whole = np.floor(yuan)
    price = np.where(
        yuan >= 1000, np.floor(yuan / 100) * 100 + 99, np.where(yuan >= 20, np.floor(yuan / 10) * 10 + 9, whole + 0.9)
    )
    return np.asarray(np.round(price * 100), dtype=np.int64)


def build_assortment(
    rngs: dict[str, np.random.Generator], *, products: int, brands: int, calendar: Calendar
) -> Assortment:
    """The whole catalog, deterministic for the given random streams."""
    leaf_pairs = leaves()
    if products < len(leaf_pairs):
        raise ValueError(f"need at least {len(leaf_pairs)} products, one per leaf category")
    created_us = calendar.now_us - 6 * 365 * US_PER_DAY
    categories, factors, leaf_ids = _taxonomy_rows(created_us)
    brand_info = _brands(rngs["brands"], brands, calendar)
    stores = _stores(rngs["stores"], brand_info, calendar)
    rng = rngs["products"]

    leaf_specs = [leaf for _, leaf in leaf_pairs]
    leaf_weight = np.array([leaf.weight for leaf in leaf_specs])
    leaf_domain = np.array([DOMAINS.index(parent.domain) for parent, _ in leaf_pairs])
    leaf_parent = np.array([TAXONOMY.index(parent) for parent, _ in leaf_pairs])
    minimum = max(1, min(4, products // (2 * len(leaf_specs))))
    counts = minimum + rng.multinomial(products - minimum * len(leaf_specs), leaf_weight / leaf_weight.sum())
    product_leaf = rng.permutation(np.repeat(np.arange(len(leaf_specs)), counts))

    # Brand: one of the leaf's domain, favouring brands whose home category this is.
    product_brand = np.empty(products, dtype=np.int64)
    for leaf in range(len(leaf_specs)):
        members = np.flatnonzero(product_leaf == leaf)
        candidates = np.flatnonzero(brand_info.domain == leaf_domain[leaf])
        affinity = np.where(brand_info.home_parent[candidates] == leaf_parent[leaf], 3.0, 1.0)
        weights = brand_info.weight[candidates] * affinity
        product_brand[members] = rng.choice(candidates, size=len(members), p=weights / weights.sum())

    # Store: the brand's flagship when it has one, a cross-border store for some imports, else a retailer.
    flagship = stores.flagship_of_brand[product_brand]
    domain = brand_info.domain[product_brand]
    wants_cross_border = brand_info.foreign[product_brand] & (rng.random(products) < 0.5)
    product_store = np.where((flagship >= 0) & (rng.random(products) < 0.65), flagship, -1)
    for d in range(len(DOMAINS)):
        for kind, chosen in ((CROSS_BORDER, wants_cross_border), (AUTHORIZED, np.ones(products, dtype=bool))):
            members = np.flatnonzero((product_store < 0) & (domain == d) & chosen)
            candidates = np.flatnonzero((stores.domain == d) & (stores.kind == kind))
            if len(members) and len(candidates):
                weights = stores.weight[candidates]
                product_store[members] = rng.choice(candidates, size=len(members), p=weights / weights.sum())

    median, low, high = (np.array([leaf.price[i] for leaf in leaf_specs]) for i in range(3))
    sigma = np.log(high / low) / 5
    yuan = median[product_leaf] * np.exp(rng.normal(0, 1, products) * sigma[product_leaf])
    price = _round_price(np.clip(yuan, low[product_leaf], high[product_leaf]))

    sales_weight = rng.lognormal(0, 1.35, products) * brand_info.weight[product_brand] ** 0.35
    note_weight = sales_weight**0.85 * rng.lognormal(0, 0.7, products)
    launched_in_window = rng.random(products) < 0.28
    launch = np.where(
        launched_in_window,
        calendar.window_start_us
        + (rng.random(products) * (calendar.now_us - calendar.window_start_us - 30 * US_PER_DAY)),
        calendar.window_start_us - rng.random(products) * 3 * 365 * US_PER_DAY,
    ).astype(np.int64)
    updated = np.maximum(launch, calendar.now_us - rng.integers(1, 120 * US_PER_DAY, size=products))

    kind_pick = rng.integers(0, 1 << 30, size=products)
    size_pick = rng.integers(0, 1 << 30, size=products)
    series_pick = rng.integers(0, 1 << 30, size=products)
    tagline_pick = rng.integers(0, 1 << 30, size=products)
    factor_pick = rng.integers(0, 1 << 30, size=(products, 2))
    names_zh, names_en, kinds_zh, kinds_en, descriptions_zh, descriptions_en, slugs = [], [], [], [], [], [], []
    for i in range(products):
        leaf = leaf_specs[product_leaf[i]]
        b = int(product_brand[i])
        domain_name = DOMAINS[leaf_domain[product_leaf[i]]]
        kind_zh, kind_en = leaf.kinds[kind_pick[i] % len(leaf.kinds)]
        size_zh, size_en = _split_size(leaf.sizes[size_pick[i] % len(leaf.sizes)])
        series = words.SERIES[domain_name]
        series_zh, series_en = series[series_pick[i] % len(series)]
        taglines = words.TAGLINES[domain_name]
        tagline_zh, tagline_en = taglines[tagline_pick[i] % len(taglines)]
        rated = [slug for slug in leaf.factors if slug != "value"]
        first = FACTORS[rated[factor_pick[i, 0] % len(rated)]]
        second = FACTORS[rated[(factor_pick[i, 0] + 1 + factor_pick[i, 1] % (len(rated) - 1)) % len(rated)]]
        brand_zh, brand_en = brand_info.name_zh[b], brand_info.name_en[b]
        english = " ".join(part for part in (brand_en, series_en, kind_en) if part)
        names_zh.append(f"{brand_zh}{series_zh}{kind_zh} {size_zh}")
        names_en.append(f"{english} {size_en}")
        kinds_zh.append(kind_zh)
        kinds_en.append(kind_en)
        descriptions_zh.append(
            f"{brand_zh}{series_zh}{kind_zh}，规格{size_zh}。主打{first.name_zh}与{second.name_zh}，{tagline_zh}。"
        )
        descriptions_en.append(
            f"{english}, {size_en}. Made for {first.name_en.lower()} and {second.name_en.lower()}; {tagline_en}."
        )
        slugs.append(f"{brand_info.slug[b]}-{leaf.slug}-{i + 1}")

    product_rows: Chunk = {
        "id": np.arange(1, products + 1, dtype=np.int64),
        "name_zh": _text(names_zh),
        "name_en": _text(names_en),
        "slug": _text(slugs),
        "description_zh": _text(descriptions_zh),
        "description_en": _text(descriptions_en),
        "price": price,
        "is_active": rng.random(products) < 0.96,
        "created_at": launch,
        "updated_at": updated,
        "brand_id": product_brand + 1,
        "category_id": leaf_ids[product_leaf],
        "store_id": product_store + 1,
    }
    return Assortment(
        leaves=leaf_specs,
        leaf_category_id=leaf_ids,
        product_leaf=product_leaf,
        product_store=product_store,
        product_price=price,
        product_launch_us=launch,
        sales_weight=sales_weight,
        note_weight=note_weight,
        product_name_zh=names_zh,
        product_name_en=names_en,
        product_kind_zh=kinds_zh,
        product_kind_en=kinds_en,
        store_rows=stores.rows,
        categories=categories,
        factors=factors,
        brands=brand_info.rows,
        products=product_rows,
    )
