"""The system check that refuses to start when a model escapes the tenancy convention."""

from django.db import models
from django.test.utils import isolate_apps

from tenancy.checks import check_tenant_owned_models
from tenancy.models import Tenant, TenantOwned


def _ids(errors) -> set[str]:
    return {error.id for error in errors}


def test_project_models_pass():
    assert check_tenant_owned_models() == []


@isolate_apps("tenancy")
def test_model_pointing_at_tenant_without_the_base_is_refused(monkeypatch):
    class Sneaky(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)

        class Meta:
            app_label = "tenancy"

        def __str__(self) -> str:
            return "sneaky"

    from django.apps import apps

    monkeypatch.setattr(apps, "get_models", lambda: [Sneaky])
    errors = check_tenant_owned_models()
    assert "tenancy.E001" in _ids(errors)


@isolate_apps("tenancy")
def test_unique_key_without_tenant_is_refused(monkeypatch):
    class Coupon(TenantOwned):
        code = models.CharField(max_length=20, unique=True)
        label = models.CharField(max_length=20)

        class Meta:
            app_label = "tenancy"
            constraints = [models.UniqueConstraint(fields=["label"], name="coupon_label")]

    from django.apps import apps

    monkeypatch.setattr(apps, "get_models", lambda: [Coupon])
    errors = check_tenant_owned_models()
    assert [e.id for e in errors] == ["tenancy.E003", "tenancy.E003"]


@isolate_apps("tenancy")
def test_foreign_keys_that_cannot_carry_the_tenant_are_refused(monkeypatch):
    class Shared(models.Model):
        name = models.CharField(max_length=20)

        class Meta:
            app_label = "tenancy"

        def __str__(self) -> str:
            return self.name

    class Voucher(TenantOwned):
        code = models.CharField(max_length=20)

        class Meta:
            app_label = "tenancy"
            constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="voucher")]

    class Stub(TenantOwned):
        shared = models.ForeignKey(Shared, on_delete=models.CASCADE)  # E004
        by_code = models.ForeignKey(  # E007
            Voucher, to_field="code", on_delete=models.CASCADE, related_name="+"
        )
        vouchers = models.ManyToManyField(Voucher, related_name="+")  # E006

        class Meta:
            app_label = "tenancy"

    class Orphan(models.Model):
        voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE)  # E005

        class Meta:
            app_label = "tenancy"

        def __str__(self) -> str:
            return "orphan"

    from django.apps import apps

    monkeypatch.setattr(apps, "get_models", lambda: [Shared, Voucher, Stub, Orphan])
    errors = check_tenant_owned_models()
    assert sorted(e.id for e in errors) == [
        "tenancy.E004",
        "tenancy.E005",
        "tenancy.E006",
        "tenancy.E007",
    ]


@isolate_apps("tenancy")
def test_foreign_keys_to_tenant_owned_and_platform_models_pass(monkeypatch):
    from tenancy.models import User

    class Voucher(TenantOwned):
        class Meta:
            app_label = "tenancy"

    class Redemption(TenantOwned):
        voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE)
        by = models.ForeignKey(User, on_delete=models.CASCADE)

        class Meta:
            app_label = "tenancy"

    from django.apps import apps

    monkeypatch.setattr(apps, "get_models", lambda: [Voucher, Redemption])
    assert check_tenant_owned_models() == []
