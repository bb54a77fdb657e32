"""Each search term carries its partner's name, so a search's page (sorted by name) is chosen
from the terms' index alone and only that page's partners are read.

The triggers of 0009 now write the name with the terms; a rename already replaces a partner's
terms. Existing terms get their partner's name here, with row-level security lifted for the
owner as 0009 does.
"""

from django.db import migrations, models

TERMS_WITH_NAME = """
CREATE OR REPLACE FUNCTION partners_partner_terms_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO partners_partnersearchterm (tenant_id, partner_id, kind, term, name)
    SELECT p.tenant_id, p.id, t.kind, t.term, p.name
    FROM new_partners p CROSS JOIN LATERAL partners_search_terms_of(p.name, p.external_id) t;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION partners_partner_terms_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partners_partnersearchterm term
    USING old_partners o
    WHERE term.tenant_id = o.tenant_id AND term.partner_id = o.id
      AND NOT EXISTS (
          SELECT 1 FROM new_partners n
          WHERE n.id = o.id AND n.tenant_id = o.tenant_id
            AND n.name = o.name AND n.external_id = o.external_id
      );
    INSERT INTO partners_partnersearchterm (tenant_id, partner_id, kind, term, name)
    SELECT n.tenant_id, n.id, t.kind, t.term, n.name
    FROM new_partners n CROSS JOIN LATERAL partners_search_terms_of(n.name, n.external_id) t
    WHERE NOT EXISTS (
        SELECT 1 FROM old_partners o
        WHERE o.id = n.id AND o.tenant_id = n.tenant_id
          AND o.name = n.name AND o.external_id = n.external_id
    );
    RETURN NULL;
END;
$$;
"""

TERMS_WITHOUT_NAME = """
CREATE OR REPLACE FUNCTION partners_partner_terms_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO partners_partnersearchterm (tenant_id, partner_id, kind, term)
    SELECT p.tenant_id, p.id, t.kind, t.term
    FROM new_partners p CROSS JOIN LATERAL partners_search_terms_of(p.name, p.external_id) t;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION partners_partner_terms_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partners_partnersearchterm term
    USING old_partners o
    WHERE term.tenant_id = o.tenant_id AND term.partner_id = o.id
      AND NOT EXISTS (
          SELECT 1 FROM new_partners n
          WHERE n.id = o.id AND n.tenant_id = o.tenant_id
            AND n.name = o.name AND n.external_id = o.external_id
      );
    INSERT INTO partners_partnersearchterm (tenant_id, partner_id, kind, term)
    SELECT n.tenant_id, n.id, t.kind, t.term
    FROM new_partners n CROSS JOIN LATERAL partners_search_terms_of(n.name, n.external_id) t
    WHERE NOT EXISTS (
        SELECT 1 FROM old_partners o
        WHERE o.id = n.id AND o.tenant_id = n.tenant_id
          AND o.name = n.name AND o.external_id = n.external_id
    );
    RETURN NULL;
END;
$$;
"""

BACKFILL = """
ALTER TABLE partners_partner NO FORCE ROW LEVEL SECURITY;
ALTER TABLE partners_partnersearchterm NO FORCE ROW LEVEL SECURITY;
UPDATE partners_partnersearchterm term SET name = p.name
FROM partners_partner p
WHERE p.tenant_id = term.tenant_id AND p.id = term.partner_id;
ALTER TABLE partners_partnersearchterm FORCE ROW LEVEL SECURITY;
ALTER TABLE partners_partner FORCE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0009_partnersearchterm"),
    ]

    operations = [
        migrations.AddField(
            model_name="partnersearchterm",
            name="name",
            field=models.CharField(default="", editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(TERMS_WITH_NAME, TERMS_WITHOUT_NAME),
        migrations.RemoveIndex(
            model_name="partnersearchterm",
            name="partner_search_term_lookup",
        ),
        migrations.AddIndex(
            model_name="partnersearchterm",
            index=models.Index(
                fields=["tenant", "kind", "term"],
                include=("partner", "name"),
                name="partner_search_term_lookup",
            ),
        ),
    ]
