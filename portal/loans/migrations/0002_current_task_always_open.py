"""The database refuses a loan whose `current_task` is finished or belongs to another loan.

A deferred constraint trigger, checked at commit on the rows as they are then: finishing a task and
moving the pointer happen in one transaction, in either order, and only the end state must hold. On
databases other than PostgreSQL nothing is installed (the services keep the rule there).
"""

from django.db import migrations

CHECK = """
CREATE OR REPLACE FUNCTION loans_current_task_is_open() RETURNS trigger AS $$
DECLARE
    loan_ids bigint[];
BEGIN
    IF TG_TABLE_NAME = 'loans_loan' THEN
        loan_ids := ARRAY[NEW.id];
    ELSE
        loan_ids := ARRAY(SELECT id FROM loans_loan WHERE id = NEW.loan_id OR current_task_id = NEW.id);
    END IF;
    IF EXISTS (
        SELECT 1
        FROM loans_loan loan
        LEFT JOIN loans_loantask task ON task.id = loan.current_task_id
        WHERE loan.id = ANY(loan_ids)
          AND loan.current_task_id IS NOT NULL
          AND (task.id IS NULL OR task.loan_id <> loan.id OR task.completed_at IS NOT NULL)
    ) THEN
        RAISE EXCEPTION USING
            MESSAGE = 'loans_loan.current_task must be an open task of the same loan',
            ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER loans_loan_current_task_open
    AFTER INSERT OR UPDATE OF current_task_id ON loans_loan
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION loans_current_task_is_open();

CREATE CONSTRAINT TRIGGER loans_loantask_current_task_open
    AFTER UPDATE OF completed_at, loan_id ON loans_loantask
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION loans_current_task_is_open();
"""

DROP = """
DROP TRIGGER IF EXISTS loans_loantask_current_task_open ON loans_loantask;
DROP TRIGGER IF EXISTS loans_loan_current_task_open ON loans_loan;
DROP FUNCTION IF EXISTS loans_current_task_is_open();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECK)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("loans", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
