"""The database guarantees one vote per person per product, and logs every change of a vote's verdict.

``VoteVerdictChange`` rows are written by triggers on PostgreSQL and SQLite, so a scoring run can read
verdicts as they stood at its cut-off whichever code changed them (screening, moderation, refunds update
verdicts in bulk). The time logged is the vote's ``updated_at`` as the changing statement set it.
"""

from django.db import migrations, models

POSTGRES_TRIGGERS = """
CREATE FUNCTION ratings_vote_verdict_log() RETURNS trigger AS $$
BEGIN
    INSERT INTO ratings_voteverdictchange (vote_id, verdict, exclusion_reason, changed_at)
    VALUES (NEW.id, NEW.verdict, NEW.exclusion_reason,
            CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at ELSE NEW.updated_at END);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_vote_verdict_update AFTER UPDATE OF verdict, exclusion_reason ON ratings_vote
    FOR EACH ROW WHEN (OLD.verdict IS DISTINCT FROM NEW.verdict
                       OR OLD.exclusion_reason IS DISTINCT FROM NEW.exclusion_reason)
    EXECUTE FUNCTION ratings_vote_verdict_log();
CREATE TRIGGER ratings_vote_verdict_insert AFTER INSERT ON ratings_vote
    FOR EACH ROW WHEN (NEW.verdict <> 'counted') EXECUTE FUNCTION ratings_vote_verdict_log();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS ratings_vote_verdict_update ON ratings_vote;
DROP TRIGGER IF EXISTS ratings_vote_verdict_insert ON ratings_vote;
DROP FUNCTION IF EXISTS ratings_vote_verdict_log();
"""
SQLITE_TRIGGERS = [
    """
CREATE TRIGGER ratings_vote_verdict_update AFTER UPDATE OF verdict, exclusion_reason ON ratings_vote
FOR EACH ROW WHEN OLD.verdict IS NOT NEW.verdict OR OLD.exclusion_reason IS NOT NEW.exclusion_reason
BEGIN
    INSERT INTO ratings_voteverdictchange (vote_id, verdict, exclusion_reason, changed_at)
    VALUES (NEW.id, NEW.verdict, NEW.exclusion_reason, NEW.updated_at);
END
""",
    """
CREATE TRIGGER ratings_vote_verdict_insert AFTER INSERT ON ratings_vote
FOR EACH ROW WHEN NEW.verdict <> 'counted'
BEGIN
    INSERT INTO ratings_voteverdictchange (vote_id, verdict, exclusion_reason, changed_at)
    VALUES (NEW.id, NEW.verdict, NEW.exclusion_reason, NEW.created_at);
END
""",
]


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGERS)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS ratings_vote_verdict_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS ratings_vote_verdict_insert")


class Migration(migrations.Migration):
    dependencies = [("ratings", "0004_votes_per_product_over_time")]

    operations = [
        migrations.AddConstraint(
            model_name="vote",
            constraint=models.UniqueConstraint(fields=("product", "user"), name="vote_one_per_user_and_product"),
        ),
        migrations.AddConstraint(
            model_name="vote",
            constraint=models.CheckConstraint(
                condition=models.Q(("submitted_at__gte", models.F("created_at"))), name="vote_submitted_after_created"
            ),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
