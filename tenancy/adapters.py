from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from tenancy import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """A self-serve sign-up creates its vendor tenant in the same transaction as the user."""
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            company = form.cleaned_data.get("company_name")
            if commit and company:
                user.full_name = form.cleaned_data.get("full_name", "").strip()
                user.save(update_fields=["full_name"])
                services.tenant_create(name=company, owner=user)
        return user
