"""The current terms version on the program row, kept by PostgreSQL; a name to join a program's
stored figures by.

`incentives_program.current_terms_version` is the highest `version` of the program's terms
(NULL: none). Lists of programs read it with the row instead of a subquery a program. Two row
triggers keep it, whatever writes (the terms service, the admin, a bulk load, raw SQL):

- before every INSERT or UPDATE of a program, `incentives_program_terms_version()` sets it from
  the terms table, so a program saved from an instance read before a new version was published
  keeps the new version;
- after every INSERT, UPDATE or DELETE of a terms version, `incentives_programterms_changed()`
  touches the program it belongs to (the old one and the new one, for an UPDATE), which runs
  the first trigger.

Both run as the role that made the change, under its row-level security: a program and its
terms have the same tenant. Existing programs get their version here; the owner runs this, and
row-level security is forced on both tables, so it is lifted for the backfill (as
`partners.0009` does).
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
ALTER TABLE incentives_program NO FORCE ROW LEVEL SECURITY;
ALTER TABLE incentives_programterms NO FORCE ROW LEVEL SECURITY;
UPDATE incentives_program p SET current_terms_version = t.version
FROM (
    SELECT tenant_id, program_id, max(version) AS version
    FROM incentives_programterms GROUP BY tenant_id, program_id
) t
WHERE t.tenant_id = p.tenant_id AND t.program_id = p.id;
ALTER TABLE incentives_programterms FORCE ROW LEVEL SECURITY;
ALTER TABLE incentives_program FORCE ROW LEVEL SECURITY;
"""

TRIGGERS = """
CREATE FUNCTION incentives_program_terms_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.current_terms_version := (
        SELECT max(t.version) FROM incentives_programterms t
        WHERE t.tenant_id = NEW.tenant_id AND t.program_id = NEW.id
    );
    RETURN NEW;
END;
$$;

CREATE FUNCTION incentives_programterms_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The value written is a placeholder: the program's own trigger sets the version.
    IF TG_OP <> 'INSERT' THEN
        UPDATE incentives_program SET current_terms_version = NULL
        WHERE tenant_id = OLD.tenant_id AND id = OLD.program_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE incentives_program SET current_terms_version = NULL
        WHERE tenant_id = NEW.tenant_id AND id = NEW.program_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER incentives_program_terms_version
    BEFORE INSERT OR UPDATE ON incentives_program
    FOR EACH ROW EXECUTE FUNCTION incentives_program_terms_version();
CREATE TRIGGER incentives_programterms_changed
    AFTER INSERT OR UPDATE OR DELETE ON incentives_programterms
    FOR EACH ROW EXECUTE FUNCTION incentives_programterms_changed();
"""

DROP_TRIGGERS = """
DROP TRIGGER incentives_programterms_changed ON incentives_programterms;
DROP TRIGGER incentives_program_terms_version ON incentives_program;
DROP FUNCTION incentives_programterms_changed();
DROP FUNCTION incentives_program_terms_version();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('incentives', '0008_figures_request'),
    ]

    operations = [
        migrations.AddField(
            model_name='program',
            name='current_terms_version',
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='programfigures',
            name='program',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', related_query_name='stored_figures', to='incentives.program'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
