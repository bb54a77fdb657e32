from django.contrib import admin

from incentives.models import Enrollment, Program, ProgramTerms, RequiredPartner


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
