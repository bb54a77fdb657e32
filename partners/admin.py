from django.contrib import admin

from partners.models import Partner, PartnerImport, Tier


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tenant",
        "type",
        "tier",
        "region",
        "country",
        "stage",
        "segment",
        "status",
        "external_id",
    ]
    list_filter = ["tenant", "type", "stage", "segment", "status"]
    search_fields = ["name", "external_id"]
    list_select_related = ["tenant", "tier"]
    raw_id_fields = ["tier", "channel_manager"]


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "tenant"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]


@admin.register(PartnerImport)
class PartnerImportAdmin(admin.ModelAdmin):
    list_display = [
        "file_name",
        "tenant",
        "status",
        "total_rows",
        "processed_rows",
        "error_count",
        "created_at",
    ]
    list_filter = ["status", "tenant"]
    list_select_related = ["tenant"]
    exclude = ["content"]
    readonly_fields = ["errors", "failure", "content_sha256"]
