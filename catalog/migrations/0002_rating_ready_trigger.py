"""PostgreSQL guarantees that a rating-ready category has 5 to 10 active factors.

A check constraint cannot count rows of another table, so a deferred constraint trigger does it at
commit time: admin saves a category and its factor inlines in one transaction, checked once at the end.
SQLite (the fresh-clone default) relies on the admin's and services' validation alone.
"""

from django.db import migrations

from catalog.models import RATING_READY_MAX_FACTORS, RATING_READY_MIN_FACTORS

CREATE = f"""
CREATE OR REPLACE FUNCTION catalog_check_rating_ready() RETURNS trigger AS $$
DECLARE
    cat_ids bigint[];
    cat_id bigint;
    active_count integer;
BEGIN
    IF TG_TABLE_NAME = 'catalog_category' THEN
        cat_ids := ARRAY[NEW.id];
    ELSIF TG_OP = 'INSERT' THEN
        cat_ids := ARRAY[NEW.category_id];
    ELSIF TG_OP = 'DELETE' THEN
        cat_ids := ARRAY[OLD.category_id];
    ELSE
        cat_ids := ARRAY[OLD.category_id, NEW.category_id];
    END IF;
    FOREACH cat_id IN ARRAY cat_ids LOOP
        IF EXISTS (SELECT 1 FROM catalog_category WHERE id = cat_id AND rating_ready) THEN
            SELECT count(*) INTO active_count FROM catalog_factor WHERE category_id = cat_id AND active;
            IF active_count < {RATING_READY_MIN_FACTORS} OR active_count > {RATING_READY_MAX_FACTORS} THEN
                RAISE EXCEPTION 'category % is rating-ready but has % active factors (needs {RATING_READY_MIN_FACTORS} to {RATING_READY_MAX_FACTORS})',
                    cat_id, active_count USING ERRCODE = 'check_violation';
            END IF;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER category_rating_ready_factors
    AFTER INSERT OR UPDATE OF rating_ready ON catalog_category
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_check_rating_ready();
CREATE CONSTRAINT TRIGGER factor_rating_ready_factors
    AFTER INSERT OR UPDATE OR DELETE ON catalog_factor
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_check_rating_ready();
"""  # built from two module constants, no input  # nosec B608

DROP = """
DROP TRIGGER IF EXISTS factor_rating_ready_factors ON catalog_factor;
DROP TRIGGER IF EXISTS category_rating_ready_factors ON catalog_category;
DROP FUNCTION IF EXISTS catalog_check_rating_ready();
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        # A bare cursor: the function body holds % signs that parameter interpolation would eat.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
