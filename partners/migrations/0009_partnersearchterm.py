"""Partner search terms, kept by PostgreSQL.

`partners_search_words(text)` gives the distinct words of a text with the place each first
appears: lower-cased and normalised to NFC, split on runs of characters that are neither
letters nor digits (`[[:alnum:]]`), each cut to 200 characters, by the database's own
(UTF-8) locale. `partners_search_terms_of(name, crm_id)` gives a partner's terms: its name's
words and its lower-cased CRM id when it has one. A query is split by the same function when it
is run (`partners.selectors.partner_ids_matching`), so a word typed always finds the word
stored, whatever the locale. Three statement triggers on `partners_partner` keep the terms,
set-based, from the transition tables: after an INSERT they add the new partners' terms; after
an UPDATE they replace the terms of the partners whose name or CRM id changed; after a DELETE
they remove the deleted partners' terms. They run as the role that made the change, under its
row-level security: each term carries its partner's tenant, which the policy's check accepts.

Existing partners get their terms here. The owner runs this, and row-level security is forced
on the partner table, so it is lifted for the backfill (as 0005 does).
"""

import django.db.models.deletion
import tenancy.models
from django.db import migrations, models


TERMS_OF = """
CREATE FUNCTION partners_search_words(words_of text)
RETURNS TABLE (word varchar, place bigint)
LANGUAGE sql STABLE AS $$
    SELECT left(piece, 200), min(n)
    FROM regexp_split_to_table(normalize(lower(words_of), NFC), '[^[:alnum:]]+')
        WITH ORDINALITY AS split(piece, n)
    WHERE piece <> ''
    GROUP BY left(piece, 200)
$$;

CREATE FUNCTION partners_search_terms_of(partner_name text, crm_id text)
RETURNS TABLE (kind varchar, term varchar)
LANGUAGE sql STABLE AS $$
    SELECT 'word', word FROM partners_search_words(partner_name)
    UNION ALL
    SELECT 'crm_id', left(normalize(lower(crm_id), NFC), 200)
    WHERE crm_id <> ''
$$;
"""

TRIGGERS = """
CREATE FUNCTION partners_partner_terms_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO partners_partnersearchterm (tenant_id, partner_id, kind, term)
    SELECT p.tenant_id, p.id, t.kind, t.term
    FROM new_partners p CROSS JOIN LATERAL partners_search_terms_of(p.name, p.external_id) t;
    RETURN NULL;
END;
$$;

CREATE FUNCTION partners_partner_terms_updated() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION partners_partner_terms_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partners_partnersearchterm term
    USING old_partners o
    WHERE term.tenant_id = o.tenant_id AND term.partner_id = o.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER partners_partner_terms_insert
    AFTER INSERT ON partners_partner REFERENCING NEW TABLE AS new_partners
    FOR EACH STATEMENT EXECUTE FUNCTION partners_partner_terms_inserted();
CREATE TRIGGER partners_partner_terms_update
    AFTER UPDATE ON partners_partner REFERENCING OLD TABLE AS old_partners NEW TABLE AS new_partners
    FOR EACH STATEMENT EXECUTE FUNCTION partners_partner_terms_updated();
CREATE TRIGGER partners_partner_terms_delete
    AFTER DELETE ON partners_partner REFERENCING OLD TABLE AS old_partners
    FOR EACH STATEMENT EXECUTE FUNCTION partners_partner_terms_deleted();
"""

DROP_TRIGGERS = """
DROP TRIGGER partners_partner_terms_insert ON partners_partner;
DROP TRIGGER partners_partner_terms_update ON partners_partner;
DROP TRIGGER partners_partner_terms_delete ON partners_partner;
DROP FUNCTION partners_partner_terms_inserted();
DROP FUNCTION partners_partner_terms_updated();
DROP FUNCTION partners_partner_terms_deleted();
"""

BACKFILL = """
ALTER TABLE partners_partner NO FORCE ROW LEVEL SECURITY;
INSERT INTO partners_partnersearchterm (tenant_id, partner_id, kind, term)
SELECT p.tenant_id, p.id, t.kind, t.term
FROM partners_partner p CROSS JOIN LATERAL partners_search_terms_of(p.name, p.external_id) t;
ALTER TABLE partners_partner FORCE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0008_partnerimport_heartbeat'),
        ('tenancy', '0005_apitoken_tenant_expiry_scope'),
    ]

    operations = [
        migrations.CreateModel(
            name='PartnerSearchTerm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('word', 'A word of the name'), ('crm_id', 'The CRM id')], editable=False, max_length=10)),
                ('term', models.CharField(db_collation='C', editable=False, max_length=200)),
                ('partner', models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='partners.partner')),
                ('tenant', tenancy.models.TenantForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.tenant')),
            ],
            options={
                'indexes': [models.Index(fields=['tenant', 'kind', 'term'], include=('partner',), name='partner_search_term_lookup')],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'partner', 'kind', 'term'), name='partner_search_term_once')],
            },
        ),
        migrations.RunSQL(
            TERMS_OF,
            "DROP FUNCTION partners_search_terms_of(text, text);"
            " DROP FUNCTION partners_search_words(text);",
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
