"""Writes of tenants, memberships, invitations and API tokens. Each runs in one transaction and
queues its side effects on commit."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from tenancy.actions import check_invitation_action
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import ApiToken, Invitation, Membership, Tenant, User, hash_secret
from tenancy.permissions import PARTNER_ROLES, STAFF_ROLES, is_partner_person, manages, require
from tenancy.roles import Role
from tenancy.tasking import enqueue_on_commit

if TYPE_CHECKING:
    from partners.models import Partner  # the partner a membership belongs to; never imported

INVITATION_LIFETIME = timedelta(days=14)
RESERVED_SLUGS = {"admin", "api", "accounts", "static", "media", "invitations", "t", "new"}


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "vendor"
    if base in RESERVED_SLUGS:
        base = f"{base}-co"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def tenant_create(*, name: str, owner: User, default_currency: str = "USD") -> Tenant:
    """A new vendor tenant with `owner` as its first vendor admin."""
    name = name.strip()
    if not name:
        raise ApplicationError("Enter your company's name.", field="company_name")
    with transaction.atomic():
        tenant = Tenant.objects.create(
            name=name, slug=_unique_slug(name), default_currency=default_currency
        )
        with tenant_scope(tenant):
            Membership.objects.create(tenant=tenant, user=owner, role=Role.VENDOR_ADMIN)
    return tenant


def tenant_update(*, actor: Membership, **changes: object) -> Tenant:
    require(actor, "settings.edit")
    tenant = actor.tenant
    allowed = {"name", "default_currency", "time_zone", "require_staff_mfa"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(f"Unknown setting: {', '.join(sorted(unknown))}.")
    for key, value in changes.items():
        setattr(tenant, key, value)
    _full_clean(tenant)
    tenant.save(update_fields=[*changes])
    return tenant


def _full_clean(obj) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean()
    except ValidationError as exc:
        errors = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        first = next(iter(errors.values()))[0]
        raise ApplicationError(first, errors=errors) from None


def _check_invitable(
    *, actor: Membership, email: str, role: str, partner: Partner | None
) -> Partner | None:
    if role not in Role.values:
        raise ApplicationError("Choose one of the listed roles.", field="role")
    if actor.role == Role.VENDOR_ADMIN:
        if role in PARTNER_ROLES and partner is None:
            raise ApplicationError("A partner role needs the partner company.", field="partner")
        if role in STAFF_ROLES:
            partner = None
    elif actor.role == Role.CHANNEL_MANAGER:
        if role not in PARTNER_ROLES:
            raise ApplicationError("Channel managers invite partner people only.", field="role")
        if partner is None:
            raise ApplicationError("A partner role needs the partner company.", field="partner")
    elif actor.role == Role.PARTNER_ADMIN:
        if role not in PARTNER_ROLES:
            raise ApplicationError("Partner admins invite their own reps only.", field="role")
        partner = actor.partner
    else:
        raise NotPermitted()
    if Membership.objects.filter(user__email__iexact=email, is_active=True).exists():
        raise ApplicationError(f"{email} is already a member of this tenant.", field="email")
    return partner


def invitation_create(
    *, actor: Membership, email: str, role: str, partner: Partner | None = None
) -> Invitation:
    """Invite `email` with `role`; the email goes out from a worker once this commits."""
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise ApplicationError("Enter a valid email address.", field="email")
    with transaction.atomic():
        partner = _check_invitable(actor=actor, email=email, role=role, partner=partner)
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    email=email,
                    role=role,
                    partner=partner,
                    invited_by=actor.user,
                    expires_at=timezone.now() + INVITATION_LIFETIME,
                )
        except IntegrityError:
            raise ApplicationError(
                f"{email} already has a pending invitation.", field="email"
            ) from None
        _enqueue_send(invitation)
    return invitation


def _enqueue_send(invitation: Invitation) -> None:
    from tenancy.tasks import invitation_send_task

    enqueue_on_commit(
        invitation_send_task, tenant_id=invitation.tenant_id, invitation_id=invitation.pk
    )


def invitation_send(*, invitation_id: int) -> bool:
    """Email the invitation with a fresh link, once. Returns False when there was nothing to do
    (already sent, accepted or revoked): a redelivered task changes nothing."""
    from tenancy.emails import send_invitation_email

    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("tenant").filter(pk=invitation_id)
        ).first()
        if invitation is None or invitation.sent_at or not invitation.is_open:
            return False
        token = Invitation.new_token()
        invitation.token_hash = hash_secret(token)
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["token_hash", "sent_at"])
        # Sent inside the transaction: a failed send rolls `sent_at` back and the task retries.
        send_invitation_email(invitation=invitation, token=token)
    return True


def invitation_resend(*, actor: Membership, invitation: Invitation) -> Invitation:
    check_invitation_action(actor=actor, invitation=invitation, action="resend")
    with transaction.atomic():
        invitation.sent_at = None
        invitation.token_hash = ""
        invitation.expires_at = timezone.now() + INVITATION_LIFETIME
        invitation.save(update_fields=["sent_at", "token_hash", "expires_at"])
        _enqueue_send(invitation)
    return invitation


def invitation_revoke(*, actor: Membership, invitation: Invitation) -> Invitation:
    check_invitation_action(actor=actor, invitation=invitation, action="revoke")
    invitation.status = Invitation.Status.REVOKED
    invitation.token_hash = ""
    invitation.save(update_fields=["status", "token_hash"])
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the invitation's tenant as `user`, whose email must be the invited one."""
    if not invitation.is_open:
        raise ApplicationError("This invitation has expired or was withdrawn.", code="gone")
    if user.email.lower() != invitation.email.lower():
        raise ApplicationError(
            f"This invitation was sent to {invitation.email}; sign in with that address.",
            field="email",
        )
    with tenant_scope(invitation.tenant_id), transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status != Invitation.Status.PENDING:
            raise ApplicationError("This invitation was already used.", code="gone")
        membership, _ = Membership.objects.update_or_create(
            user=user,
            defaults={"role": locked.role, "partner_id": locked.partner_id, "is_active": True},
        )
        locked.status = Invitation.Status.ACCEPTED
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.token_hash = ""
        locked.save(update_fields=["status", "accepted_at", "accepted_by", "token_hash"])
        # Following the emailed link proves the address.
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
    return membership


def user_create_for_invitation(*, invitation: Invitation, full_name: str, password: str) -> User:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ApplicationError("An account with this email exists; sign in to accept.")
    candidate = User(email=invitation.email, full_name=full_name.strip())
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="password") from None
    return User.objects.create_user(invitation.email, password, full_name=full_name.strip())


def _check_manages(actor: Membership, role: str, partner_id: int | None) -> None:
    if not manages(actor, role=role, partner_id=partner_id):
        raise NotPermitted()


def _other_active_admins(membership: Membership) -> int:
    """Count the other active vendor admins, locking them so that two concurrent demotions
    cannot leave the tenant with none."""
    return len(
        Membership.objects.select_for_update()
        .filter(role=Role.VENDOR_ADMIN, is_active=True)
        .exclude(pk=membership.pk)
        .values_list("pk", flat=True)
    )


def membership_update(
    *, actor: Membership, membership: Membership, role: str, partner: Partner | None = None
) -> Membership:
    _check_manages(actor, membership.role, membership.partner_id)
    _check_manages(actor, role, partner.pk if partner else membership.partner_id)
    if role not in Role.values:
        raise ApplicationError("Choose one of the listed roles.", field="role")
    if role in PARTNER_ROLES:
        partner = partner or membership.partner
        if partner is None:
            raise ApplicationError("A partner role needs the partner company.", field="partner")
        if is_partner_person(actor):
            partner = actor.partner
    else:
        partner = None
    with transaction.atomic():
        demoting = membership.role == Role.VENDOR_ADMIN and role != Role.VENDOR_ADMIN
        if demoting and _other_active_admins(membership) == 0:
            raise ApplicationError("A tenant keeps at least one vendor admin.", field="role")
        membership.role = role
        membership.partner = partner
        membership.save(update_fields=["role", "partner"])
    return membership


def membership_deactivate(*, actor: Membership, membership: Membership) -> Membership:
    _check_manages(actor, membership.role, membership.partner_id)
    with transaction.atomic():
        if membership.role == Role.VENDOR_ADMIN and _other_active_admins(membership) == 0:
            raise ApplicationError("A tenant keeps at least one vendor admin.")
        membership.is_active = False
        membership.save(update_fields=["is_active"])
    return membership


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token; the key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Name the token, e.g. 'CRM sync'.", field="name")
    key = "upl_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:12], key_hash=hash_secret(key)
    )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> None:
    ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
