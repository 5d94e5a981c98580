"""Deleting a user, campaign or order line (or changing its id) waits for a running invitation insert.

The eligibility job checks its invitations' foreign keys once for the whole insert instead of once per row
(``ratings.eligibility._row_checks_skipped``). What the per-row checks also did was lock each referenced row
until commit, so that it could not be deleted before the new invitations were visible to the delete's own
foreign-key check. Here every such statement takes the invitation lock (``_INVITATION_LOCK_KEY``) shared
first: it waits while the job holds it exclusively, then sees the committed invitations (and is refused or
cascades, as its foreign key says). Statements that neither delete nor change an id are untouched, and a
shared lock waits for nothing else. PostgreSQL only (SQLite's demo runs the per-row checks).
"""

from django.db import migrations

REFERENCED = ("accounts_user", "ratings_campaign", "catalog_orderline")

POSTGRES_CREATE = """
CREATE FUNCTION ratings_invitation_references_guard() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(2020111153);  -- ratings.eligibility._INVITATION_LOCK_KEY
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER ratings_invitation_references_guard BEFORE DELETE OR UPDATE OF id ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ratings_invitation_references_guard();
"""
    for table in REFERENCED
)
POSTGRES_DROP = "".join(
    f"DROP TRIGGER IF EXISTS ratings_invitation_references_guard ON {table};\n" for table in REFERENCED
) + "DROP FUNCTION IF EXISTS ratings_invitation_references_guard();\n"


def guard_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE)


def guard_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_notification_kind_stake"),
        ("catalog", "0009_orderline_paid_buyer_idx"),
        ("ratings", "0023_scoring_carry_over"),
    ]

    operations = [migrations.RunPython(guard_create, guard_drop)]
