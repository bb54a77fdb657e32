import django.db.models.constraints
from django.db import migrations, models

# Ladders that already hold two tiers of one rank (concurrent creations before the ladder lock)
# are renumbered 1..n in their present order, rank then id. The owner runs this; row-level
# security is forced on the table, so it is lifted for this one statement.
RENUMBER_DUPLICATE_RANKS = """
ALTER TABLE partners_tier NO FORCE ROW LEVEL SECURITY;
UPDATE partners_tier AS tier SET rank = ordered.position
FROM (
    SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY rank, id) AS position
    FROM partners_tier
    WHERE tenant_id IN (
        SELECT tenant_id FROM partners_tier GROUP BY tenant_id, rank HAVING count(*) > 1
    )
) AS ordered
WHERE tier.id = ordered.id AND tier.rank <> ordered.position;
ALTER TABLE partners_tier FORCE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0004_partner_import"),
        ("tenancy", "0002_auditevent"),
    ]

    operations = [
        migrations.RunSQL(RENUMBER_DUPLICATE_RANKS, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="tier",
            constraint=models.UniqueConstraint(
                deferrable=django.db.models.constraints.Deferrable["DEFERRED"],
                fields=("tenant", "rank"),
                name="tier_rank_per_tenant",
            ),
        ),
    ]
