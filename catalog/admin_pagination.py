"""A paginator for admin lists of tables with millions of rows (purchase records, notes, engagement).

Django's paginator runs ``SELECT COUNT(*)`` over the whole filtered list to number its pages; on
10M order lines that is a full scan on every page view. This one counts at most ``EXACT_COUNT_LIMIT``
matching rows (``SELECT count(*) FROM (SELECT 1 … LIMIT n)``, which stops early); beyond that it
shows PostgreSQL's planner estimate (from ``pg_class.reltuples`` and column statistics), so the page
count is approximate exactly when nobody pages that far anyway.
"""

import json
from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

#: Up to this many rows the count is exact.
EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            # SQLite is the single-user development default: an exact count is cheap there.
            return super().count
        # Ordering is irrelevant to a count and would force a sort or an index walk before the limit.
        capped = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped
        return max(capped, planner_row_estimate(queryset))


def planner_row_estimate(queryset: QuerySet[Any]) -> int:
    """How many rows PostgreSQL's planner expects the query to return (no rows are read)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])
