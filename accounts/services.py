"""Writes to accounts: the in-app inbox.

Idempotency contract: a notification is unique per (user, kind, subject_id) in the database, so
creating the same notifications twice, or from two workers at once, stores each exactly once; the
services here report only the rows they actually inserted, which is what callers send emails for.
"""

from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.header import header_forget
from accounts.models import Notification

#: Stands for the subject id in a ``url_template``.
SUBJECT_ID = "{subject_id}"


def notifications_create(
    *,
    kind: Notification.Kind,
    source: QuerySet[Any, Any],
    url_template: str,
    context_columns: dict[str, str] | None = None,
) -> list[int]:
    """Insert an inbox notification for every row of ``source``; return the ids of the new ones.

    ``source`` is a ``.values(...)`` query with the columns ``user_id`` and ``subject_id`` and any
    column named in ``context_columns`` (``{"key in context": "column of source"}``). The url of each
    notification is ``url_template`` with ``{subject_id}`` replaced by the row's subject id, e.g.
    ``/invitations/{subject_id}/``. One ``INSERT … SELECT … ON CONFLICT DO NOTHING`` in the database,
    however many rows: nothing is loaded into Python but the ids of the inserted rows.

    Rows whose notification exists already are skipped, so a re-run returns an empty list.
    """
    prefix, found, suffix = url_template.partition(SUBJECT_ID)
    if not found:
        raise ValueError(f"url_template must contain {SUBJECT_ID}: {url_template!r}")
    source_sql, source_params = source.query.sql_with_params()
    pairs = [(key, column) for key, column in (context_columns or {}).items()]
    for _key, column in pairs:
        if not column.isidentifier():
            raise ValueError(f"not a column name: {column!r}")
    if not pairs:
        context_sql, context_params = "%s", ["{}"]
    else:
        function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
        context_sql = f"{function}({', '.join(f'%s, s.{column}' for _key, column in pairs)})"
        context_params = [key for key, _column in pairs]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # Sorted on the unique key, so a large insert walks its index in order (see PERFORMANCE.md).
    sql = f"""
        INSERT INTO accounts_notification (user_id, kind, subject_id, url, context, created_at, updated_at)
        SELECT s.user_id, %s, s.subject_id, %s || CAST(s.subject_id AS TEXT) || %s, {context_sql}, %s, %s
        FROM ({source_sql}) AS s
        WHERE true
        ORDER BY s.user_id, s.subject_id
        ON CONFLICT DO NOTHING
        RETURNING id, user_id
    """  # noqa: S608 - the only interpolated parts are our own SQL and checked identifiers  # nosec B608
    params = [kind.value, prefix, suffix, *context_params, now, now, *source_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    header_forget(user_id for _pk, user_id in inserted)
    return [pk for pk, _user_id in inserted]


def notifications_mark_read(
    *,
    user_id: int,
    notification_ids: list[int] | None = None,
    about: tuple[str, int] | None = None,
) -> int:
    """Mark a user's unread notifications read: all, the given ones, or those about one (kind, subject).

    A repeat changes nothing.
    """
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    if about is not None:
        unread = unread.filter(kind=about[0], subject_id=about[1])
    now = timezone.now()
    marked = unread.update(read_at=now, updated_at=now)
    if marked:
        header_forget([user_id])
    return marked
