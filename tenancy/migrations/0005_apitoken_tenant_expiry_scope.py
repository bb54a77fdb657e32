"""API tokens get a tenant, an optional expiry and an optional read-only scope.

A token made before this acted in every tenant of its owner; which one it was meant for cannot
be told, so every such token is revoked here (its owner mints a new one for a tenant). Only a
revoked token may have no tenant."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.functions import Now


def revoke_tokens_without_tenant(apps, schema_editor):
    ApiToken = apps.get_model("tenancy", "ApiToken")
    ApiToken.objects.using(schema_editor.connection.alias).filter(
        tenant__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0004_domainevent_delivered_age"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="read_only",
            field=models.BooleanField(
                default=False, help_text="A read-only token may only read (GET, HEAD, OPTIONS)."
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="tenant",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tenancy.tenant",
            ),
        ),
        migrations.RunPython(revoke_tokens_without_tenant, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="apitoken",
            index=models.Index(
                fields=["user", "revoked_at"], name="tenancy_api_user_id_dcaec1_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("tenant__isnull", False), ("revoked_at__isnull", False), _connector="OR"
                ),
                name="apitoken_tenant_unless_revoked",
            ),
        ),
    ]
