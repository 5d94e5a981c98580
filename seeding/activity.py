"""Purchases and community activity, generated month by month in numpy.

Each month is one chunk with its own random stream, so memory stays at one month of rows (about
450k order lines at full scale) and ids follow time, as they would in a live system. Within a
month: buyers are drawn by how much they buy and how much of the month they were active; the
instant falls inside their active span, on a day weighted by the sales calendar; the first product
of an order is drawn by sales weight among products already on sale, further lines of the same
order come from the same store (a store order is per store).

Notes follow the same pattern with posting weights; a note's engagement grows with how popular its
product is in the community, its author's reach and its age, and every like or save is by a user
who was active at that moment. Counts on the note are the number of engagement rows generated for
it, so they agree by construction.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from seeding import vocabulary as words
from seeding.assortment import Assortment
from seeding.calendar import Calendar, Slice
from seeding.columns import NULL_INT, US_PER_DAY, US_PER_SECOND, Chunk
from seeding.people import BUYER, CANDIDATE, MANAGER, Population
from seeding.taxonomy import FACTORS

_LINES_PER_ORDER = np.array([1, 2, 3, 4])
_LINES_PER_ORDER_P = np.array([0.72, 0.19, 0.06, 0.03])
_QUANTITY = np.array([1, 2, 3, 4, 5, 6])
_QUANTITY_P = np.array([0.8, 0.13, 0.04, 0.015, 0.01, 0.005])
_STATUS = np.array([b"paid", b"refunded", b"cancelled"], dtype="S9")
PAID, REFUNDED, CANCELLED = 0, 1, 2
_CANCELLED_ORDER_SHARE = 0.02
_REFUNDED_LINE_SHARE = 0.051
_MENTIONS_EXTRA = np.array([0, 1, 2])
_MENTIONS_EXTRA_P = np.array([0.62, 0.26, 0.12])
_SAVE_SHARE = 0.26
_VIRALITY_SIGMA = 1.0
_ORDER_REF_PREFIX = np.frombuffer(b"XHS", dtype=np.uint8)
_POWERS_OF_TEN = 10 ** np.arange(9, -1, -1, dtype=np.int64)

RandomStreams = Callable[..., np.random.Generator]


@dataclass
class NoteBatch:
    notes: Chunk
    mentions: Chunk
    engagements: Chunk


def _weighted(rng: np.random.Generator, weights: npt.NDArray[np.float64], count: int) -> npt.NDArray[np.int64]:
    """``count`` indexes drawn with replacement in proportion to ``weights``, in random order.

    The draws are sorted before the lookup (searchsorted then walks the table once instead of
    jumping around 500k entries, about three times faster) and the picks shuffled afterwards.
    """
    cumulative = np.cumsum(weights)
    if count == 0 or cumulative[-1] <= 0:
        return np.zeros(0, dtype=np.int64)
    picks = np.searchsorted(cumulative, np.sort(rng.random(count)) * cumulative[-1], side="right")
    picks = np.asarray(np.minimum(picks, len(weights) - 1), dtype=np.int64)
    rng.shuffle(picks)
    return picks


class _GroupSampler:
    """Draws an item from a given group (a store, a category) in proportion to item weights."""

    def __init__(self, group_of_item: npt.NDArray[np.int64]) -> None:
        self.order = np.argsort(group_of_item, kind="stable")
        self.bounds = np.searchsorted(group_of_item[self.order], np.arange(int(group_of_item.max()) + 2))

    def sample(
        self, rng: np.random.Generator, groups: npt.NDArray[np.int64], weights: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        cumulative = np.concatenate(([0.0], np.cumsum(weights[self.order])))
        low, high = self.bounds[groups], self.bounds[groups + 1]
        target = cumulative[low] + rng.random(len(groups)) * (cumulative[high] - cumulative[low])
        position = np.clip(np.searchsorted(cumulative, target, side="right") - 1, low, high - 1)
        return np.asarray(self.order[position], dtype=np.int64)


def _order_refs(yymmdd: npt.NDArray[np.int64], numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.bytes_]:
    """Order references like XHS2511110000123456: prefix, local date, a 10-digit running number."""
    digits = np.empty((len(numbers), 19), dtype=np.uint8)
    digits[:, :3] = _ORDER_REF_PREFIX
    digits[:, 3:9] = 48 + yymmdd[:, None] // _POWERS_OF_TEN[-6:] % 10
    digits[:, 9:] = 48 + numbers[:, None] // _POWERS_OF_TEN % 10
    return digits.view("S19").reshape(len(numbers))


def _positions_in_groups(group: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For a non-decreasing group array: each row's dense group number and 1-based position in it."""
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    sizes = np.diff(np.concatenate((starts, [len(group)])))
    dense = np.repeat(np.arange(len(starts)), sizes)
    return dense, np.arange(len(group)) - np.repeat(starts, sizes) + 1


class Activity:
    def __init__(
        self,
        *,
        streams: RandomStreams,
        calendar: Calendar,
        assortment: Assortment,
        population: Population,
        order_lines: int,
        notes: int,
        engagements: int,
    ) -> None:
        self.streams = streams
        self.calendar = calendar
        self.catalog = assortment
        self.people = population
        self.target_lines = order_lines
        self.target_notes = notes
        self.target_engagements = engagements
        self.by_store = _GroupSampler(assortment.product_store)
        self.by_leaf = _GroupSampler(assortment.product_leaf)
        self.next_line_id = 1
        self.next_order_no = 1
        self.next_note_id = 1
        self.next_mention_id = 1
        self.next_engagement_id = 1
        self._engagement_scale = self._calibrate_engagement()
        self.persona_purchases = self._persona_purchases()

    # --- order lines ------------------------------------------------------------------------------

    def order_line_chunks(self) -> Iterator[Chunk]:
        # Repeated products are dropped from an order, so the lines an order yields are measured as
        # months go by and the next month's order count aims at the target with that figure.
        lines_per_order = float((_LINES_PER_ORDER * _LINES_PER_ORDER_P).sum())
        share_so_far = 0.0
        lines_so_far = orders_so_far = 0
        for month, piece in enumerate(self.calendar.months()):
            rng = self.streams("orders", month)
            share_so_far += self.calendar.share(piece)
            count = max(0, round((self.target_lines * share_so_far - lines_so_far) / lines_per_order))
            chunk = self._month_orders(rng, piece, count)
            orders_so_far += count
            lines_so_far += len(chunk["id"])
            if lines_so_far:
                lines_per_order = lines_so_far / orders_so_far
            if len(chunk["id"]):
                yield chunk
        yield self._persona_lines()

    def _active_overlap(self, start_us: int, end_us: int) -> npt.NDArray[np.float64]:
        low = np.maximum(self.people.joined_us, start_us)
        high = np.minimum(self.people.active_until_us, end_us)
        return np.asarray(np.clip(high - low, 0, None), dtype=np.float64)

    def _instants_for(
        self, rng: np.random.Generator, users: npt.NDArray[np.int64], piece: Slice
    ) -> npt.NDArray[np.int64]:
        """Instants in the slice on the sales calendar, moved inside each user's active span."""
        instants = self.calendar.sample_instants(rng, len(users), piece)
        low = np.maximum(self.people.joined_us[users], piece.start_us)
        high = np.minimum(self.people.active_until_us[users], piece.end_us)
        outside = (instants < low) | (instants >= high)
        uniform = low + (rng.random(len(users)) * (high - low)).astype(np.int64)
        return np.where(outside, uniform, instants)

    def _month_orders(self, rng: np.random.Generator, piece: Slice, count: int) -> Chunk:
        buyers = _weighted(rng, self.people.buying * self._active_overlap(piece.start_us, piece.end_us), count)
        paid = self._instants_for(rng, buyers, piece)
        by_time = np.argsort(paid, kind="stable")
        buyers, paid = buyers[by_time], paid[by_time]
        # Products already on sale when the month began, so no line predates its product.
        weights = self.catalog.sales_weight * (self.catalog.product_launch_us < piece.start_us)
        lines = rng.choice(_LINES_PER_ORDER, size=len(buyers), p=_LINES_PER_ORDER_P)
        order = np.repeat(np.arange(len(buyers)), lines)
        _, position = _positions_in_groups(order)
        first_product = _weighted(rng, weights, len(buyers))
        product = np.empty(len(order), dtype=np.int64)
        first = position == 1
        product[first] = first_product
        more = ~first
        product[more] = self.by_store.sample(rng, self.catalog.product_store[first_product[order[more]]], weights)
        # A product twice in one order is one line with a larger quantity, so drop repeats.
        _, first_seen = np.unique(order * self.catalog.product_count + product, return_index=True)
        keep = np.zeros(len(order), dtype=bool)
        keep[first_seen] = True
        order, product = order[keep], product[keep]
        order_dense, line_no = _positions_in_groups(order)
        cancelled_order = rng.random(int(order_dense[-1]) + 1 if len(order) else 0) < _CANCELLED_ORDER_SHARE
        status = np.where(
            cancelled_order[order_dense],
            CANCELLED,
            np.where(rng.random(len(order)) < _REFUNDED_LINE_SHARE, REFUNDED, PAID),
        )
        return self._line_rows(
            rng,
            buyer=buyers[order],
            product=product,
            paid=paid[order],
            order=order_dense,
            line_no=line_no,
            status=status,
        )

    def _line_rows(
        self,
        rng: np.random.Generator,
        *,
        buyer: npt.NDArray[np.int64],
        product: npt.NDArray[np.int64],
        paid: npt.NDArray[np.int64],
        order: npt.NDArray[np.int64],
        line_no: npt.NDArray[np.int64],
        status: npt.NDArray[np.int64],
    ) -> Chunk:
        """Order-line rows; ``order`` numbers the orders of this chunk densely from 0."""
        count = len(product)
        now = self.calendar.now_us
        festival = self.calendar.festival[self.calendar.day_index(paid)]
        discount = np.where(
            festival,
            rng.uniform(0.7, 0.9, count),
            np.where(rng.random(count) < 0.6, 1.0, rng.uniform(0.85, 1.0, count)),
        )
        unit_price = (np.round(self.catalog.product_price[product] * discount / 10) * 10).astype(np.int64)
        refund_after = rng.lognormal(np.log(4 * US_PER_DAY), 0.8, count).astype(np.int64)
        cancel_after = rng.integers(60 * US_PER_SECOND, 2 * US_PER_DAY, size=count)
        changed = paid + np.where(status == CANCELLED, cancel_after, refund_after)
        changed = np.maximum(paid, np.minimum(changed, now - US_PER_SECOND))
        changed = np.where(status == PAID, NULL_INT, changed)
        numbers = self.next_order_no + order
        self.next_order_no += int(order[-1]) + 1 if count else 0
        ids = np.arange(self.next_line_id, self.next_line_id + count, dtype=np.int64)
        self.next_line_id += count
        return {
            "id": ids,
            "order_ref": _order_refs(self.calendar.local_yymmdd(paid), numbers),
            "line_no": line_no,
            "quantity": rng.choice(_QUANTITY, size=count, p=_QUANTITY_P),
            "unit_price": unit_price,
            "paid_at": paid,
            "status": _STATUS[status],
            "status_changed_at": changed,
            "created_at": paid - rng.integers(5 * US_PER_SECOND, 1200 * US_PER_SECOND, size=count),
            "updated_at": np.where(status == PAID, paid, changed),
            "buyer_id": buyer + 1,
            "product_id": product + 1,
            "store_id": self.catalog.product_store[product] + 1,
        }

    # --- personas -----------------------------------------------------------------------------------

    def _most_popular(self, leaf_slug: str, on_sale_before_us: int) -> int:
        leaf = self.catalog.leaf_index(leaf_slug)
        candidates = np.flatnonzero(
            (self.catalog.product_leaf == leaf) & (self.catalog.product_launch_us < on_sale_before_us)
        )
        if not len(candidates):
            candidates = np.flatnonzero(self.catalog.product_leaf == leaf)
        return int(candidates[np.argmax(self.catalog.sales_weight[candidates])])

    def _persona_purchases(self) -> list[tuple[int, int, int, int]]:
        """(user, product, paid_at, status) of the buyer's, the candidate's and the manager's purchases, by design.

        The buyer bought six popular products in the last year (a shampoo among them, so an
        invitation to rate shampoo reaches them), two more long ago, and had one refund. The candidate
        bought three popular products months ago, past the use period, so the eligibility job invites
        them and the ratings demo turns one invitation into a vote: the rules test's verified purchase.
        """
        rng = self.streams("personas")
        now = self.calendar.now_us
        year_ago = now - 365 * US_PER_DAY
        evening = 20 * 3600 * US_PER_SECOND
        purchases = []
        recent = ("shampoo", "face-cream", "sunscreen", "lipstick", "coffee-beans", "toothpaste")
        for slug, days in zip(recent, (280, 220, 160, 100, 45, 12), strict=True):
            purchases.append((BUYER, self._most_popular(slug, year_ago), now - days * US_PER_DAY + evening, PAID))
        window_start = self.calendar.window_start_us
        for slug, days in (("body-wash", 640), ("instant-noodles", 500)):
            purchases.append((BUYER, self._most_popular(slug, window_start), now - days * US_PER_DAY + evening, PAID))
        purchases.append((BUYER, self._most_popular("lip-gloss", year_ago), now - 70 * US_PER_DAY + evening, REFUNDED))
        for slug, days in (("conditioner", 150), ("sheet-mask", 95), ("body-lotion", 40)):
            purchases.append((CANDIDATE, self._most_popular(slug, year_ago), now - days * US_PER_DAY + evening, PAID))
        on_sale = self.catalog.sales_weight * (self.catalog.product_launch_us < window_start)
        products = _weighted(rng, on_sale, 36)
        days_ago = np.sort(rng.integers(10, 1090, size=36))[::-1]
        for index, (product, days) in enumerate(zip(products.tolist(), days_ago.tolist(), strict=True)):
            status = REFUNDED if index == 17 else PAID
            purchases.append((MANAGER, product, now - days * US_PER_DAY + evening + index * 60 * US_PER_SECOND, status))
        return purchases

    def _persona_lines(self) -> Chunk:
        rng = self.streams("personas", "lines")
        users, products, paid, status = (
            np.array(column, dtype=np.int64) for column in zip(*self.persona_purchases, strict=True)
        )
        return self._line_rows(
            rng,
            buyer=users,
            product=products,
            paid=paid,
            order=np.arange(len(users)),
            line_no=np.ones(len(users), dtype=np.int64),
            status=status,
        )

    # --- notes and engagement --------------------------------------------------------------------------

    def _calibrate_engagement(self) -> float:
        """Engagement per unit of virality, so the total comes out near the target on average."""
        note_share = self.catalog.note_weight / self.catalog.note_weight.sum()
        posting = self.people.posting / max(self.people.posting.sum(), 1e-9)
        mean_virality = (
            float((note_share * np.sqrt(self.catalog.note_weight)).sum())
            * float(np.exp(_VIRALITY_SIGMA**2 / 2))
            * float((posting * (1 + self.people.posting) ** 0.3).sum())
        )
        return self.target_engagements / max(self.target_notes, 1) / mean_virality

    def note_batches(self) -> Iterator[NoteBatch]:
        for month, piece in enumerate(self.calendar.months()):
            rng = self.streams("notes", month)
            count = round(self.target_notes * self.calendar.share(piece))
            authors = _weighted(rng, self.people.posting * self._active_overlap(piece.start_us, piece.end_us), count)
            if not len(authors):
                continue
            published = self._instants_for(rng, authors, piece)
            by_time = np.argsort(published, kind="stable")
            authors, published = authors[by_time], published[by_time]
            weights = self.catalog.note_weight * (self.catalog.product_launch_us < piece.start_us)
            first = _weighted(rng, weights, len(authors))
            yield self._note_batch(rng, authors=authors, published=published, first=first, weights=weights, boost=1.0)
        rng = self.streams("personas", "notes")
        yield self._manager_notes(rng)

    def _manager_notes(self, rng: np.random.Generator) -> NoteBatch:
        """The manager's notes: each about something they had bought before writing."""
        now = self.calendar.now_us
        bought = [(product, paid) for user, product, paid, _ in self.persona_purchases if user == MANAGER]
        published, first = [], []
        for days in (700, 560, 420, 300, 200, 120, 60, 15):
            instant = now - days * US_PER_DAY + 21 * 3600 * US_PER_SECOND
            before = [product for product, paid in bought if paid < instant]
            if before:
                published.append(instant)
                first.append(before[-1])
        weights = self.catalog.note_weight * (self.catalog.product_launch_us < self.calendar.window_start_us)
        return self._note_batch(
            rng,
            authors=np.full(len(first), MANAGER, dtype=np.int64),
            published=np.array(published, dtype=np.int64),
            first=np.array(first, dtype=np.int64),
            weights=weights,
            boost=3.0,
        )

    def _note_batch(
        self,
        rng: np.random.Generator,
        *,
        authors: npt.NDArray[np.int64],
        published: npt.NDArray[np.int64],
        first: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float64],
        boost: float,
    ) -> NoteBatch:
        count = len(authors)
        note_ids = np.arange(self.next_note_id, self.next_note_id + count, dtype=np.int64)
        self.next_note_id += count

        # Mentions: the note's product, sometimes compared with one or two of the same category.
        extra = rng.choice(_MENTIONS_EXTRA, size=count, p=_MENTIONS_EXTRA_P)
        mention_note = np.concatenate((np.arange(count), np.repeat(np.arange(count), extra)))
        mention_product = np.concatenate(
            (first, self.by_leaf.sample(rng, np.repeat(self.catalog.product_leaf[first], extra), weights))
        )
        _, unique = np.unique(mention_note * self.catalog.product_count + mention_product, return_index=True)
        unique = np.sort(unique)
        mention_note, mention_product = mention_note[unique], mention_product[unique]
        order = np.lexsort((np.arange(len(mention_note)), mention_note))
        mention_note, mention_product = mention_note[order], mention_product[order]
        mention_count = len(mention_note)
        mentions: Chunk = {
            "id": np.arange(self.next_mention_id, self.next_mention_id + mention_count, dtype=np.int64),
            "created_at": published[mention_note],
            "note_id": note_ids[mention_note],
            "product_id": mention_product + 1,
        }
        self.next_mention_id += mention_count

        engagements, likes, saves = self._engagements(rng, note_ids, authors, published, first, boost)
        hidden = np.where(self.people.banned[authors], rng.random(count) < 0.4, rng.random(count) < 0.015)
        titles, bodies = self._texts(rng, first, mention_note, mention_product, count)
        notes: Chunk = {
            "id": note_ids,
            "title": titles,
            "body": bodies,
            "visibility": np.where(hidden, b"hidden", b"visible").astype("S7"),
            "likes_count": likes,
            "saves_count": saves,
            "published_at": published,
            "created_at": published,
            "updated_at": published,
            "author_id": authors + 1,
        }
        return NoteBatch(notes=notes, mentions=mentions, engagements=engagements)

    def _engagements(
        self,
        rng: np.random.Generator,
        note_ids: npt.NDArray[np.int64],
        authors: npt.NDArray[np.int64],
        published: npt.NDArray[np.int64],
        first: npt.NDArray[np.int64],
        boost: float,
    ) -> tuple[Chunk, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        now = self.calendar.now_us
        age_days = (now - published) / US_PER_DAY
        virality = (
            np.sqrt(self.catalog.note_weight[first])
            * rng.lognormal(0, _VIRALITY_SIGMA, len(first))
            * (1 + self.people.posting[authors]) ** 0.3
            * (1 - np.exp(-age_days / 6))
            * boost
        )
        expected = np.minimum(self._engagement_scale * virality, 0.3 * self.people.count)
        per_note = rng.poisson(expected)
        note = np.repeat(np.arange(len(note_ids)), per_note)
        kind = (rng.random(len(note)) < _SAVE_SHARE).astype(np.int64)  # 0 like, 1 save
        delay = np.where(
            rng.random(len(note)) < 0.7,
            rng.exponential(1.5 * US_PER_DAY, len(note)),
            rng.exponential(30 * US_PER_DAY, len(note)),
        ).astype(np.int64)
        user = np.zeros(len(note), dtype=np.int64)
        low = np.zeros(len(note), dtype=np.int64)
        high = np.zeros(len(note), dtype=np.int64)
        pending = np.arange(len(note))
        for _round in range(4):  # redraw users who were not around after the note went up
            if not len(pending):
                break
            drawn = _weighted(rng, self.people.browsing, len(pending))
            user[pending] = drawn
            low[pending] = np.maximum(published[note[pending]], self.people.joined_us[drawn]) + US_PER_SECOND
            high[pending] = np.minimum(now - US_PER_SECOND, self.people.active_until_us[drawn])
            fits = (high[pending] > low[pending]) & (drawn != authors[note[pending]])
            pending = pending[~fits]
        valid = np.ones(len(note), dtype=bool)
        valid[pending] = False
        created = published[note] + US_PER_SECOND + delay
        outside = (created < low) | (created > high)
        created = np.where(outside, low + (rng.random(len(note)) * (high - low)).astype(np.int64), created)
        note, user, kind, created = note[valid], user[valid], kind[valid], created[valid]
        key = (note * self.people.count + user) * 2 + kind
        _, unique = np.unique(key, return_index=True)
        note, user, kind, created = note[unique], user[unique], kind[unique], created[unique]
        order = np.lexsort((created, note))
        note, user, kind, created = note[order], user[order], kind[order], created[order]
        count = len(note)
        chunk: Chunk = {
            "id": np.arange(self.next_engagement_id, self.next_engagement_id + count, dtype=np.int64),
            "kind": np.where(kind == 1, b"save", b"like").astype("S4"),
            "created_at": created,
            "user_id": user + 1,
            "note_id": note_ids[note],
        }
        self.next_engagement_id += count
        likes = np.bincount(note[kind == 0], minlength=len(note_ids)).astype(np.int64)
        saves = np.bincount(note[kind == 1], minlength=len(note_ids)).astype(np.int64)
        return chunk, likes, saves

    def _texts(
        self,
        rng: np.random.Generator,
        first: npt.NDArray[np.int64],
        mention_note: npt.NDArray[np.int64],
        mention_product: npt.NDArray[np.int64],
        count: int,
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """Titles and bodies in the community's voice, naming the product and its category's factors."""
        picks = rng.integers(0, 1 << 30, size=(count, 8))
        english = rng.random(count) < 0.1
        second: dict[int, int] = {}
        for n, p in zip(mention_note.tolist(), mention_product.tolist(), strict=True):
            if p != first[n]:
                second.setdefault(n, p)
        catalog = self.catalog
        titles = np.empty(count, dtype=object)
        bodies = np.empty(count, dtype=object)
        for n in range(count):
            product = int(first[n])
            pick = picks[n]
            leaf = catalog.leaves[catalog.product_leaf[product]]
            factors = [FACTORS[slug] for slug in leaf.factors if slug != "value"]
            f1 = factors[pick[0] % len(factors)]
            f2 = factors[(pick[0] + 1) % len(factors)]
            f3 = factors[(pick[0] + 2) % len(factors)]
            weeks = 1 + pick[1] % 12
            season_zh, season_en = words.SEASONS[pick[2] % len(words.SEASONS)]
            stance = words.NOTE_STANCES[pick[7] % len(words.NOTE_STANCES)]
            tones = words.NOTE_TONES[stance]
            wording = int(pick[7] >> 10)  # consecutive words: two factors of one tone are never said alike
            if english[n]:
                name = catalog.product_name_en[product]
                titles_en = words.NOTE_TITLES_EN[stance]
                title = titles_en[pick[3] % len(titles_en)].format(
                    product=name, weeks=weeks, kind=catalog.product_kind_en[product].lower(), season_en=season_en
                )
                said = [
                    words.NOTE_WORDS_EN[tone][(wording + i) % len(words.NOTE_WORDS_EN[tone])]
                    for i, tone in enumerate(tones)
                ]
                body = (
                    f"I've used {name} for {weeks} weeks. "
                    f"{f1.name_en} {said[0]}, {f2.name_en.lower()} {said[1]}, and {f3.name_en.lower()} {said[2]}."
                )
                if n in second:
                    body += f" I also compared it with {catalog.product_name_en[second[n]]}."
                body += f"\n\n#{leaf.name_en.replace(' ', '')} #review"
            else:
                name = catalog.product_name_zh[product]
                titles_zh, verdicts = words.NOTE_TITLES_ZH[stance], words.VERDICTS_ZH[stance]
                title = titles_zh[pick[3] % len(titles_zh)].format(
                    product=name,
                    verdict=verdicts[pick[4] % len(verdicts)],
                    n=2 + pick[5] % 5,
                    kind=catalog.product_kind_zh[product],
                    weeks=weeks,
                    season=season_zh,
                )
                said = [
                    words.NOTE_WORDS_ZH[tone][(wording + i) % len(words.NOTE_WORDS_ZH[tone])]
                    for i, tone in enumerate(tones)
                ]
                closers = words.NOTE_CLOSERS_ZH[stance]
                body = (
                    f"{words.NOTE_OPENERS_ZH[pick[6] % len(words.NOTE_OPENERS_ZH)]}{name}用了{weeks}周，"
                    f"{f1.name_zh}{said[0]}，{f2.name_zh}{said[1]}，{f3.name_zh}{said[2]}。"
                )
                if n in second:
                    body += f"顺便对比了{catalog.product_name_zh[second[n]]}，各有千秋。"
                body += f"{closers[pick[2] % len(closers)]}\n\n#{leaf.name_zh} #好物分享"
            titles[n] = title[:120]
            bodies[n] = body
        return titles, bodies
