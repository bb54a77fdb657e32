from django.contrib import admin

from incentives.models import (
    Claim,
    ClaimSerial,
    Enrollment,
    Program,
    ProgramTerms,
    RequiredPartner,
)


class TermsInline(admin.TabularInline):
    model = ProgramTerms
    extra = 0
    fields = ["version", "created_at", "created_by"]
    readonly_fields = fields
    can_delete = False


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tenant",
        "kind",
        "status",
        "enrollment_mode",
        "starts_on",
        "ends_on",
        "budget",
        "currency",
    ]
    list_filter = ["status", "kind", "enrollment_mode", "tenant"]
    search_fields = ["name"]
    list_select_related = ["tenant"]
    raw_id_fields = ["created_by"]
    inlines = [TermsInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["program", "partner", "tenant", "status", "automatic", "accepted_at"]
    list_filter = ["status", "automatic", "tenant"]
    search_fields = ["program__name", "partner__name"]
    list_select_related = ["program", "partner", "tenant"]
    raw_id_fields = ["program", "partner", "terms", "accepted_by", "invited_by"]


@admin.register(RequiredPartner)
class RequiredPartnerAdmin(admin.ModelAdmin):
    list_display = ["program", "partner", "tenant"]
    list_select_related = ["program", "partner", "tenant"]
    raw_id_fields = ["program", "partner"]


class SerialInline(admin.TabularInline):
    model = ClaimSerial
    extra = 0
    fields = ["serial"]
    readonly_fields = fields
    can_delete = False


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    """Claims are read here; their status moves only through the claim services (the rules,
    the review queue), which lock, check and record each move."""

    list_display = [
        "pk",
        "tenant",
        "program",
        "partner",
        "kind",
        "status",
        "occurred_on",
        "amount",
        "currency",
        "submitted_at",
    ]
    list_filter = ["status", "kind", "tenant"]
    search_fields = ["invoice_number", "sku", "end_customer", "partner__name"]
    list_select_related = ["tenant", "program", "partner"]
    inlines = [SerialInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
