"""A full run carries over a category nothing of which changed since the last (``scoring._carry_over_unchanged``).

It finds "changed" by each vote's ``updated_at``, as the runs' reading "as of the cut-off" already does: so the
database now moves a vote's ``updated_at`` whenever its verdict, exclusion reason, creation or submission time
changes, or any of its scores is updated or deleted, by a statement that did not set it itself (a bulk
``UPDATE``, a direct fix); a deleted vote or invitation voids its product's latest result's fingerprint; the
campaigns' invitations are indexed by time. PostgreSQL only: SQLite (a fresh machine's demo) scores every category.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRES_TRIGGERS = """
CREATE FUNCTION ratings_vote_touch() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := GREATEST(statement_timestamp(), OLD.updated_at);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_vote_touch BEFORE UPDATE ON ratings_vote
    FOR EACH ROW WHEN (NEW.updated_at = OLD.updated_at
                       AND (OLD.verdict, OLD.exclusion_reason, OLD.created_at, OLD.submitted_at)
                           IS DISTINCT FROM (NEW.verdict, NEW.exclusion_reason, NEW.created_at, NEW.submitted_at))
    EXECUTE FUNCTION ratings_vote_touch();

CREATE FUNCTION ratings_factorscore_touch() RETURNS trigger AS $$
BEGIN
    UPDATE ratings_vote SET updated_at = statement_timestamp()
     WHERE id IN (SELECT vote_id FROM touched) AND updated_at < statement_timestamp();
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_factorscore_touch_update AFTER UPDATE ON ratings_factorscore
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION ratings_factorscore_touch();
CREATE TRIGGER ratings_factorscore_touch_delete AFTER DELETE ON ratings_factorscore
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION ratings_factorscore_touch();

-- A deleted vote or invitation leaves no row to notice: it voids its product's latest result's fingerprint, so
-- that the next run scores the product (a re-score writes it again).
CREATE FUNCTION ratings_vote_gone() RETURNS trigger AS $$
BEGIN
    UPDATE ratings_productresult SET fingerprint = ''
     WHERE is_latest AND fingerprint <> '' AND product_id IN (SELECT product_id FROM gone);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_vote_gone AFTER DELETE ON ratings_vote
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ratings_vote_gone();
CREATE FUNCTION ratings_invitation_gone() RETURNS trigger AS $$
BEGIN
    UPDATE ratings_productresult SET fingerprint = ''
     WHERE is_latest AND fingerprint <> ''
       AND product_id IN (SELECT c.product_id FROM ratings_campaign c JOIN gone ON gone.campaign_id = c.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ratings_invitation_gone AFTER DELETE ON ratings_invitation
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ratings_invitation_gone();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS ratings_invitation_gone ON ratings_invitation;
DROP FUNCTION IF EXISTS ratings_invitation_gone();
DROP TRIGGER IF EXISTS ratings_vote_gone ON ratings_vote;
DROP FUNCTION IF EXISTS ratings_vote_gone();
DROP TRIGGER IF EXISTS ratings_factorscore_touch_delete ON ratings_factorscore;
DROP TRIGGER IF EXISTS ratings_factorscore_touch_update ON ratings_factorscore;
DROP FUNCTION IF EXISTS ratings_factorscore_touch();
DROP TRIGGER IF EXISTS ratings_vote_touch ON ratings_vote;
DROP FUNCTION IF EXISTS ratings_vote_touch();
"""


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGERS)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [("ratings", "0022_periodic_close_surveys")]

    operations = [
        migrations.AddField(
            model_name="scoringruncategory",
            name="carried_from",
            field=models.ForeignKey(
                blank=True,
                help_text="Nothing of the category had changed since this run: its figures, list and reliability were kept.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="ratings.scoringrun",
                verbose_name="carried over from",
            ),
        ),
        migrations.AddField(
            model_name="scoringruncategory",
            name="settings_digest",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="SHA-256 of what the category was scored with besides its votes: method, policy, campaigns, factors.",
                max_length=64,
                verbose_name="settings digest",
            ),
        ),
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(fields=["campaign", "created_at"], name="invitation_campaign_time_idx"),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
