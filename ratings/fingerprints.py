"""Input fingerprints: a SHA-256 over what a scoring run read, so anyone holding the same input can check it.

The canonical input, documented for auditors in ``docs/verify.md`` (keep the two in step; a change here
is a new ``FORMAT``):

* a product's **votes digest**: SHA-256 of one line per counted score it was scored from,
  ``"<vote id> <campaign factor id> <score>\\n"``, ordered by vote id then campaign factor id (the empty
  string when there is none). Counted means: counted at the run's cut-off, submitted within the score
  window, with the scores in force at the cut-off, from any of the product's campaigns;
* a product's **input fingerprint**: SHA-256 of the text ``product_text`` builds: the format, the method
  version, the product and its scored campaign, the policy figures it was scored under (votes to publish,
  prior strength, window in days), its frozen factors in the campaign's order (position, id) with their
  catalog key and weight, and its votes digest;
* a category's: SHA-256 of the format, the method version, the list rule (threshold and size) and one line
  ``"product <id> <input fingerprint>"`` per product scored, by product id;
* a run's: SHA-256 of the format, the method version and one line ``"category <id> <fingerprint>"`` per
  category scored, by category id.

The category prior is not an input of its own: a full run derives it from the category's products,
whose fingerprints the category's covers; a product re-score uses the prior the last full run recorded.

The votes digests are the only costly part: the job reads the counted scores once into numpy (for its
histograms too), and ``votes_digests`` sorts them into the canonical order, writes their lines as bytes
and hashes each product's; the few votes the job reads "closer" (changed after the cut-off, say) are
hashed in Python with their product's other lines.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ratings import statistics

if TYPE_CHECKING:
    import numpy as np

#: The version of the canonical text below.
FORMAT = "little-red-heart input 1"
#: The votes digest of a product without a counted score: SHA-256 of nothing.
NO_VOTES = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class FactorInput:
    """A frozen campaign factor as the fingerprint reads it."""

    campaign_factor_id: int
    key: int  # the catalog factor its scores add up under (minus its own id once that was deleted)
    position: int
    weight: Decimal


def votes_digest(lines: Iterable[tuple[int, int, int]]) -> str:
    """SHA-256 of (vote id, campaign factor id, score) lines, given in their canonical order."""
    digest = hashlib.sha256()
    for vote_id, factor_id, score in lines:
        digest.update(f"{vote_id} {factor_id} {score}\n".encode())
    return digest.hexdigest()


def product_text(
    *,
    product_id: int,
    campaign_id: int,
    min_votes: int,
    prior_strength: int,
    window_days: int,
    factors: Sequence[FactorInput],
    votes_digest: str,
    method_version: str = statistics.METHOD_VERSION,
) -> str:
    lines = [
        FORMAT,
        f"method {method_version}",
        f"product {product_id} campaign {campaign_id}",
        f"policy min_votes {min_votes} prior_strength {prior_strength} window_days {window_days}",
        *(
            f"factor {f.campaign_factor_id} key {f.key} position {f.position} weight {f.weight}"
            for f in sorted(factors, key=lambda f: (f.position, f.campaign_factor_id))
        ),
        f"votes {votes_digest}",
    ]
    return "\n".join(lines) + "\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def category_fingerprint(
    *,
    list_threshold: Decimal,
    list_size: int,
    products: Iterable[tuple[int, str]],
    method_version: str = statistics.METHOD_VERSION,
) -> str:
    lines = [FORMAT, f"method {method_version}", f"list threshold {list_threshold} size {list_size}"]
    lines += [f"product {pid} {fingerprint}" for pid, fingerprint in sorted(products)]
    return sha256("\n".join(lines) + "\n")


def run_fingerprint(categories: Iterable[tuple[int, str]], *, method_version: str = statistics.METHOD_VERSION) -> str:
    lines = [FORMAT, f"method {method_version}"]
    lines += [f"category {pk} {fingerprint}" for pk, fingerprint in sorted(categories)]
    return sha256("\n".join(lines) + "\n")


#: Rows hashed at once: the lines' text of a chunk is ~20 bytes a row (and a mask as large) while it is built.
CHUNK_ROWS = 1_000_000


def votes_digests(
    *,
    product: "np.ndarray",
    vote: "np.ndarray",
    factor: "np.ndarray",
    score: "np.ndarray",
    closer: Mapping[int, Sequence[tuple[int, int, int]]],
) -> dict[int, str]:
    """Each product's votes digest from its counted scores, given as four parallel arrays in any order (one
    row per score, as the job read them), plus the ``closer`` lines the job read as they stood at the
    cut-off. A product with closer lines is hashed in Python from all its lines.

    The rest in numpy: the rows sorted into the canonical order (product, vote, campaign factor), their lines
    written as bytes column by column (the digits of every id at once), and each product's run of bytes
    hashed. At the full bench scale (17M scores) ~4 s; at the medium (5M) ~0.5 s, against 3.7–6.2 s for the
    same pass in SQL, whose cost was the sort by (product, vote, factor) and building each line as text.
    """
    import numpy as np  # lazily: web processes that never score stay light

    digests: dict[int, str] = {}
    lines_of: dict[int, list[tuple[int, int, int]]] = {pid: list(extra) for pid, extra in closer.items()}
    if len(vote):
        order = _canonical_order(np.asarray(product), np.asarray(vote), np.asarray(factor))
        product = product[order]  # the other columns are gathered a chunk at a time
        starts = np.flatnonzero(np.diff(product, prepend=product[0] - 1))
        ends = np.append(starts[1:], len(product))
        # every id's digits written once, for the run: the rows of each chunk gather theirs
        vote_digits, factor_digits = _Digits.of(vote), _Digits.of(factor)
        chunk_from = 0
        while chunk_from < len(starts):
            # whole products, up to CHUNK_ROWS rows (or one product larger than that)
            chunk_to = max(chunk_from + 1, int(np.searchsorted(ends, starts[chunk_from] + CHUNK_ROWS, side="right")))
            first, last = int(starts[chunk_from]), int(ends[chunk_to - 1])
            rows = order[first:last]
            chunk_vote, chunk_factor, chunk_score = vote[rows], factor[rows], score[rows]
            text, line_ends = _lines(vote_digits, chunk_vote, factor_digits, chunk_factor, chunk_score)
            offsets = np.concatenate(([0], line_ends))
            view = memoryview(text)
            for start, end in zip(
                starts[chunk_from:chunk_to].tolist(), ends[chunk_from:chunk_to].tolist(), strict=True
            ):
                pid = int(product[start])
                if pid in lines_of:
                    at = slice(start - first, end - first)
                    lines_of[pid] += zip(
                        chunk_vote[at].tolist(), chunk_factor[at].tolist(), chunk_score[at].tolist(), strict=True
                    )
                else:
                    digests[pid] = hashlib.sha256(view[offsets[start - first] : offsets[end - first]]).hexdigest()
            chunk_from = chunk_to
    for pid, product_lines in lines_of.items():
        digests[pid] = votes_digest(sorted(product_lines))
    return digests


def _canonical_order(product: "np.ndarray", vote: "np.ndarray", factor: "np.ndarray") -> "np.ndarray":
    """The permutation that sorts rows by (product, vote, factor).

    Rows read in the table's order come sorted by (vote, factor) already (a vote's scores are written
    together, votes in the order of their ids): then a stable sort by product alone keeps that order within
    each product, and with the products numbered densely (fewer than 65,536 of them) numpy sorts their
    16-bit numbers by radix, in linear time whatever the order of the products: ~0.5 s for 17M rows, where
    one sort of a combined key took ~0.9 s with each product's rows already together and more with them
    spread, as in production. Otherwise one sort of a combined key where the ids fit in 63 bits (always, at
    any size this system meets), else three."""
    import numpy as np

    votes, factors = int(vote.max()) + 1, int(factor.max()) + 1
    if min(int(product.min()), int(vote.min()), int(factor.min())) < 0:
        return np.lexsort((factor, vote, product))
    if votes * factors < 2**63 and bool((np.diff(vote.astype(np.int64) * factors + factor) > 0).all()):
        present = np.zeros(int(product.max()) + 1, dtype=bool)
        present[product] = True
        numbered = np.cumsum(present) - 1
        dense = numbered[product].astype(np.uint16 if numbered[-1] < 2**16 else np.uint32)
        return np.argsort(dense, kind="stable")
    if (int(product.max()) + 1) * votes * factors < 2**63:
        key = (product.astype(np.int64) * votes + vote) * factors + factor
        # stable: timsort, quick on the runs rows come in (a vote's scores together, in the table's order)
        return np.argsort(key, kind="stable")
    return np.lexsort((factor, vote, product))


@dataclass(frozen=True)
class _Digits:
    """Non-negative ids as ASCII digits: ``digits[id - low]`` is the id right-aligned in a row as wide as the
    longest with NUL bytes before it, ``lengths[id - low]`` its length. Ids come in dense ranges and each is
    on many rows (a vote on one per factor it scored): every number of the range is written once for the
    run, and each chunk's rows gather theirs. Sparse ids are written as given."""

    low: int
    digits: "np.ndarray"
    lengths: "np.ndarray"
    ids: "np.ndarray | None" = None  # sparse: the ids written, sorted

    @classmethod
    def of(cls, values: "np.ndarray") -> "_Digits":
        import numpy as np

        low, high = int(values.min()), int(values.max())
        if len(values) >= (high - low + 1) // 2:
            return cls(low, *_written(np.arange(low, high + 1, dtype=np.int64)))
        ids = np.unique(values)
        return cls(low, *_written(ids), ids=ids)

    def rows(self, values: "np.ndarray") -> tuple["np.ndarray", "np.ndarray"]:
        import numpy as np

        at = values - self.low if self.ids is None else np.searchsorted(self.ids, values)
        width = self.digits.shape[1]
        # each row's digits gathered as one element of ``width`` bytes: half the time of a row of bytes
        whole = np.ascontiguousarray(self.digits).view(f"V{width}").ravel()
        return whole[at].view(np.uint8).reshape(-1, width), self.lengths[at]


def _lines(
    vote_digits: _Digits, vote: "np.ndarray", factor_digits: _Digits, factor: "np.ndarray", score: "np.ndarray"
) -> tuple[bytes, "np.ndarray"]:
    """The lines ``"<vote> <factor> <score>\n"`` of these rows as one bytes string, and where each line ends.

    Each row is written into a fixed-width row of bytes, its numbers right-aligned with NUL bytes before
    them. Where every vote id of the rows has the same length, and every factor id, the NULs are the same
    leading columns of each number: those columns are left out and the rows are the lines (the common case:
    a product's votes seldom cross a power of ten). Otherwise the NULs are dropped in one pass: no line holds
    a NUL of its own."""
    import numpy as np

    vote_text, vote_width = vote_digits.rows(vote)
    factor_text, factor_width = factor_digits.rows(factor)
    even = vote_width.min() == vote_width.max() and factor_width.min() == factor_width.max()
    if even:
        vote_text = vote_text[:, vote_text.shape[1] - int(vote_width[0]) :]
        factor_text = factor_text[:, factor_text.shape[1] - int(factor_width[0]) :]
    width_v, width_f = vote_text.shape[1], factor_text.shape[1]
    text = np.empty((len(vote), width_v + width_f + 4), dtype=np.uint8)
    text[:, :width_v] = vote_text
    text[:, width_v] = ord(" ")
    text[:, width_v + 1 : width_v + 1 + width_f] = factor_text
    text[:, -3] = ord(" ")
    text[:, -2] = score + ord("0")
    text[:, -1] = ord("\n")
    return text.tobytes() if even else text[text != 0].tobytes(), np.cumsum(vote_width + factor_width + 4)


def _written(values: "np.ndarray") -> tuple["np.ndarray", "np.ndarray"]:
    import numpy as np

    width = len(str(int(values.max())))
    digits = np.zeros((len(values), width), dtype=np.uint8)
    lengths = np.ones(len(values), dtype=np.int64)
    rest = values.astype(np.int64)
    for column in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        digits[:, column] = digit + ord("0")
        if column:
            lengths += rest > 0  # digits left: the number is longer than what is written so far
    digits[np.arange(width) < (width - lengths)[:, None]] = 0  # NULs before each number
    return digits, lengths
