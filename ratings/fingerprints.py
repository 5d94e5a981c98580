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

The votes digests are the only costly part: one ordered pass over the counted scores in PostgreSQL
(``string_agg … ORDER BY`` hashed by ``sha256`` per product), beside the job's histogram query; the few
votes the job reads "closer" (changed after the cut-off, say) are hashed here in Python with their
product's other lines.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from ratings import statistics
from ratings.models import FactorScore

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


# Per product, its counted scores' lines in order, hashed where they are: only the digests leave the database.
VOTES_DIGESTS = """
    SELECT product_id,
           encode(sha256(convert_to(string_agg(
               vote_id::text || ' ' || factor_id::text || ' ' || score::text || E'\\n', '' ORDER BY vote_id, factor_id
           ), 'UTF8')), 'hex')
      FROM ratings_factorscore
     WHERE vote_id <> ALL(%s::bigint[]) {products}
     GROUP BY product_id
"""
VOTES_LINES = """
    SELECT product_id, vote_id, factor_id, score
      FROM ratings_factorscore
     WHERE vote_id <> ALL(%s::bigint[]) AND product_id = ANY(%s::bigint[])
"""


def votes_digests(
    product_ids: Sequence[int] | None,
    *,
    excluded: Sequence[int],
    closer: Mapping[int, Sequence[tuple[int, int, int]]],
) -> dict[int, str]:
    """Each product's votes digest (every product's when ``product_ids`` is None): the scores of the votes
    not in ``excluded`` (as the job's histogram query reads them), plus the ``closer`` lines the job read
    as they stood at the cut-off. A product with closer lines is hashed in Python from all its lines."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if product_ids is None:
                cursor.execute(VOTES_DIGESTS.format(products=""), [list(excluded)])
            else:
                cursor.execute(
                    VOTES_DIGESTS.format(products="AND product_id = ANY(%s::bigint[])"),
                    [list(excluded), list(product_ids)],
                )
            digests: dict[int, str] = dict(cursor.fetchall())
            rows: list[tuple[int, int, int, int]] = []
            if closer:
                cursor.execute(VOTES_LINES, [list(excluded), list(closer)])
                rows = cursor.fetchall()
    else:  # SQLite: every line through Python
        scores = FactorScore.objects.exclude(vote_id__in=list(excluded))
        if product_ids is not None:
            scores = scores.filter(product_id__in=list(product_ids))
        rows = list(scores.values_list("product_id", "vote_id", "factor_id", "score"))
        digests = {}
    lines: dict[int, list[tuple[int, int, int]]] = {pid: list(extra) for pid, extra in closer.items()}
    for product_id, vote_id, factor_id, score in rows:
        lines.setdefault(product_id, []).append((vote_id, factor_id, score))
    for product_id, product_lines in lines.items():
        digests[product_id] = votes_digest(sorted(product_lines))
    return digests
