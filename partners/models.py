"""Channel partner companies."""

from django.db import models
from django.utils import timezone

from tenancy.models import TenantOwned


class Partner(TenantOwned):
    """A channel partner company of one vendor tenant."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["tenant", "name"])]

    def __str__(self) -> str:
        return self.name
