"""Platform admin registrations (the site itself is `tenancy.admin_site`)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from tenancy.models import ApiToken, AuditEvent, Invitation, Membership, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "default_currency", "time_zone", "is_active", "created_at"]
    list_filter = ["is_active", "default_currency"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Platform", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "partner", "is_active", "created_at"]
    list_filter = ["role", "is_active", "tenant"]
    search_fields = ["user__email", "tenant__name"]
    list_select_related = ["user", "tenant", "partner"]
    raw_id_fields = ["user", "partner"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "status", "created_at", "sent_at", "expires_at"]
    list_filter = ["status", "role", "tenant"]
    search_fields = ["email"]
    list_select_related = ["tenant"]
    raw_id_fields = ["partner", "invited_by", "accepted_by"]
    readonly_fields = ["token_hash", "sent_at", "accepted_at", "accepted_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "tenant",
        "prefix",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["read_only", "tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["name", "user__email", "prefix"]
    readonly_fields = ["prefix", "key_hash", "last_used_at"]
    raw_id_fields = ["user", "tenant"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "tenant", "entity", "entity_id", "action", "actor"]
    list_filter = ["entity", "action", "tenant"]
    list_select_related = ["tenant", "actor"]
    readonly_fields = ["tenant", "entity", "entity_id", "action", "actor", "at", "changes", "note"]

    # History is written by the services, in the transaction of the change it records: the
    # admin only reads it.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
