"""Tenants, people and their memberships, and the base every tenant-owned model inherits."""

from __future__ import annotations

import copy
import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from tenancy import expressions  # noqa: F401  (registers the `any_of` lookup)
from tenancy.context import bound_tenant_id, current_tenant_id, unscoped_reason
from tenancy.permissions import PARTNER_ROLES
from tenancy.roles import Role

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones())


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Tenant(models.Model):
    """A vendor organisation. Platform-level: looked up by slug before any tenant is bound."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    default_currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")],
    )
    time_zone = models.CharField(max_length=64, default="UTC", choices=TIME_ZONE_CHOICES)
    require_staff_mfa = models.BooleanField(
        default=False,
        help_text="Vendor staff must set up an authenticator app to use the dashboard.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in by email; reaches tenants through memberships. `is_staff` means platform
    admin (the Django admin), never vendor staff."""

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased by save()
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.full_name or self.email

    # A copy kept in the cache (`tenancy.selectors.session_user`) leaves its password hash out
    # and carries the hash a session is checked against instead.
    _SESSION_HASH = "_uplift_session_auth_hash"

    def cache_copy(self) -> User:
        """This person as the cache keeps them: without the password hash (read from the
        database if asked for) and with the session hash computed from it."""
        kept = copy.copy(self)
        kept.__dict__.pop("password", None)
        kept.__dict__[self._SESSION_HASH] = self.get_session_auth_hash()
        return kept

    def get_session_auth_hash(self) -> str:
        return self.__dict__.get(self._SESSION_HASH) or super().get_session_auth_hash()

    def set_password(self, raw_password) -> None:
        self.__dict__.pop(self._SESSION_HASH, None)
        super().set_password(raw_password)

    def set_unusable_password(self) -> None:
        self.__dict__.pop(self._SESSION_HASH, None)
        super().set_unusable_password()

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        # `set_password` keeps the new raw password until the save: however the password
        # changes (the accounts pages' change, set and reset, the admin's form, a command), the
        # person's API tokens stop working with it.
        password_changed = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_changed:
            ApiToken.objects.filter(user_id=self.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )


class IsCurrentTenant(models.Lookup):
    """`tenant__is_current_tenant=True`: resolved when the query is compiled, not when it is
    built. Compiled inside `tenant_scope(t)` it reads `tenant_id = t`; inside `all_tenants()` it
    reads every row; anywhere else compiling it raises `TenantContextMissing`. So a queryset may
    be built at import time (a form field, a filter set) but never run unscoped."""

    lookup_name = "is_current_tenant"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if unscoped_reason() is not None:
            return f"{lhs} IS NOT NULL", list(lhs_params)
        return f"{lhs} = %s", [*lhs_params, current_tenant_id()]


class TenantForeignKey(models.ForeignKey):
    """The `tenant` column of every tenant-owned model."""


TenantForeignKey.register_lookup(IsCurrentTenant)


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Every queryset it makes is filtered by the tenant bound when the query runs (see
    `IsCurrentTenant`); running one with no tenant bound raises. Inside `all_tenants()` it reads
    every tenant's rows (row-level security is opened for that transaction too)."""

    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(tenant__is_current_tenant=True)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)  # a generator would be spent filling tenants and insert nothing
        for obj in objs:
            obj._fill_tenant()
        return super().bulk_create(objs, *args, **kwargs)


class TenantOwned(models.Model):
    """Base of every tenant-owned model: a `tenant` foreign key, the scoped manager and, through
    `tenancy.rls`, a row-level security policy on its table."""

    tenant = TenantForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self._fill_tenant()
        super().save(*args, **kwargs)

    def _fill_tenant(self) -> None:
        """Take the bound tenant when none is set; refuse a row of another tenant. (Django's
        plain base manager, used for saving and related-object access, is still held by
        row-level security.)"""
        bound = bound_tenant_id()
        if self.tenant_id is None:
            if bound is None:
                raise ValueError(f"{type(self).__name__} needs a tenant or a bound tenant scope")
            self.tenant_id = bound
        elif bound is not None and self.tenant_id != bound:
            raise ValueError(
                f"{type(self).__name__} belongs to tenant {self.tenant_id}, not {bound}"
            )


class BulkJob(TenantOwned):
    """Base of a job that a bulk task works through in chunks (a partner import, invitations to
    everyone eligible). Its `heartbeat_at` is written with every committed chunk
    (`tenancy.tasking.heartbeat`); a job not finished whose heartbeat has gone stale is queued
    again by its sweeper (`tenancy.tasking.requeue_stale_jobs`). A subclass has a `status`."""

    heartbeat_at = models.DateTimeField(
        default=timezone.now,
        help_text="Last sign of life: created, a chunk committed, a message queued.",
    )

    class Meta:
        abstract = True


class Membership(TenantOwned):
    """A user's place in a tenant: one role, and for partner roles the partner company."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_one_per_tenant"),
            models.CheckConstraint(
                condition=(
                    models.Q(role__in=sorted(PARTNER_ROLES), partner__isnull=False)
                    | (~models.Q(role__in=sorted(PARTNER_ROLES)) & models.Q(partner__isnull=True))
                ),
                name="membership_partner_iff_partner_role",
            ),
        ]
        indexes = [models.Index(fields=["user", "tenant"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.tenant_id} as {self.role}"

    @property
    def is_staff_role(self) -> bool:
        return self.role not in PARTNER_ROLES


class Invitation(TenantOwned):
    """An emailed invitation to join a tenant with a role. Only the token's hash is stored."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=32, choices=Role.choices)
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, db_index=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("email"),
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.role}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


class ApiToken(models.Model):
    """A personal API token. The key is shown once; only its hash and a short prefix are kept.
    A token acts as its user in one tenant (`tenant`), until it expires or is revoked; a
    read-only token only reads. Changing or resetting the password revokes every token of the
    user (`tenancy.signals`).

    Not tenant-owned: like the user it belongs to, it is read by its hash before any tenant is
    bound (authentication) and listed across tenants on its owner's account page; its tenant
    names where it may act (`tenancy.checks.TENANT_NAMING_MODELS`). Tokens made before tokens
    had a tenant were revoked when the column was added; only a revoked token has none."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(
        default=False, help_text="A read-only token may only read (GET, HEAD, OPTIONS)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tenant__isnull=False) | models.Q(revoked_at__isnull=False),
                name="apitoken_tenant_unless_revoked",
            )
        ]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class AuditEvent(TenantOwned):
    """One change to a tenant's record: who, when, what (see `tenancy.audit`)."""

    entity = models.CharField(max_length=60)  # app_label.model
    entity_id = models.BigIntegerField()
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["tenant", "entity", "entity_id", "at"])]

    def __str__(self) -> str:
        return f"{self.entity}#{self.entity_id} {self.action}"


class DomainEvent(TenantOwned):
    """A change others may care about, written in the transaction that made it (the transactional
    outbox, DESIGN.md §7; see `tenancy.events`). `relayed_at` is when the relay last handed it to
    its subscribers, `delivered_to` the subscribers that have handled it, `delivered_at` when the
    last of them did."""

    kind = models.CharField(max_length=60)  # "partner.changed"
    aggregate_type = models.CharField(max_length=60)  # app_label.model
    aggregate_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    relayed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_to = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The relay, the subscribers and the sweeper read only what is still undelivered.
            models.Index(
                fields=["tenant", "kind", "id"],
                condition=models.Q(delivered_at__isnull=True),
                name="domainevent_undelivered",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="domainevent_undelivered_age",
            ),
            # Pruning reads only what was delivered, oldest first.
            models.Index(
                fields=["delivered_at"],
                condition=models.Q(delivered_at__isnull=False),
                name="domainevent_delivered_age",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.aggregate_type}#{self.aggregate_id}"


class IdempotencyKey(TenantOwned):
    """The first answer to a change sent with an `Idempotency-Key` header, kept for its sender
    (`tenancy.idempotency`): the same key and body again get this answer, not a second change."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    claimant = models.CharField(max_length=32)
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "membership", "key"], name="idempotency_key_once"
            )
        ]

    def __str__(self) -> str:
        return self.key
