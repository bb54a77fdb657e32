"""The Django admin, for platform admins only: it reads every tenant's rows, through the one
explicit unscoped path (`all_tenants`, the unscoped role's own connection), view by view, once
the person is known to be a platform admin."""

from __future__ import annotations

import functools

from django.contrib import admin

from tenancy.context import all_tenants


class UpliftAdminSite(admin.AdminSite):
    site_header = "Uplift platform admin"
    site_title = "Uplift admin"
    index_title = "Platform"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def unscoped(request, *args, **kwargs):
            if not self.has_permission(request):
                return inner(request, *args, **kwargs)  # the login page, or the redirect to it
            with all_tenants(reason="platform admin"):
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return unscoped
