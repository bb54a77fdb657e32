"""Writes of tenants, memberships, invitations and API tokens. Each runs in one transaction and
queues its side effects on commit."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from tenancy.actions import check_member_action
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.models import ApiToken, Invitation, Membership, Tenant, User, hash_secret
from tenancy.permissions import PARTNER_ROLES, STAFF_ROLES, is_partner_person, manages, require
from tenancy.roles import Role
from tenancy.second_factor import staff_mfa_refusal
from tenancy.selectors import forget_api_tokens, memberships_of
from tenancy.states import INVITATION_STATES
from tenancy.tasking import enqueue_on_commit
from tenancy.text import clean_text
from tenancy.transitions import is_unique_violation, lock, lock_for, move

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
    name = clean_text(name, field="company_name", label="The company's name")
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
    if "name" in changes:
        changes["name"] = clean_text(changes["name"], field="name", label="The company's name")
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
        except IntegrityError as error:
            if not is_unique_violation(error, "invitation_one_pending_per_email"):
                raise
            raise Conflict(
                f"{email} already has a pending invitation.", field="email", code="duplicate"
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
        invitation = lock(Invitation, pk=invitation_id)
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
    _check_manages(actor, invitation.role, invitation.partner_id)
    with transaction.atomic():
        invitation = lock_for(
            Invitation,
            machine=INVITATION_STATES,
            action="resend",
            seen=invitation.status,
            refusal="Only a pending invitation can be sent again; this one is {state}.",
            pk=invitation.pk,
        )
        invitation.sent_at = None
        invitation.token_hash = ""
        invitation.expires_at = timezone.now() + INVITATION_LIFETIME
        invitation.save(update_fields=["sent_at", "token_hash", "expires_at"])
        _enqueue_send(invitation)
    return invitation


def invitation_revoke(*, actor: Membership, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation; one accepted or revoked meanwhile is a `Conflict`."""
    _check_manages(actor, invitation.role, invitation.partner_id)
    with transaction.atomic():
        invitation = lock_for(
            Invitation,
            machine=INVITATION_STATES,
            action="revoke",
            seen=invitation.status,
            refusal="This invitation is no longer pending: it is {state}.",
            pk=invitation.pk,
        )
        move(
            invitation,
            machine=INVITATION_STATES,
            action="revoke",
            actor=actor.user,
            values={"token_hash": ""},
            event="revoked",
        )
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the invitation's tenant as `user`, whose email must be the invited one. The
    invitation is locked and checked again: of two clicks on one link, one joins."""
    if not invitation.is_open:
        raise Conflict("This invitation has expired or was withdrawn.", code="gone")
    if user.email.lower() != invitation.email.lower():
        raise ApplicationError(
            f"This invitation was sent to {invitation.email}; sign in with that address.",
            field="email",
        )
    with tenant_scope(invitation.tenant_id), transaction.atomic():
        locked = lock(Invitation, pk=invitation.pk)
        if locked is None or not INVITATION_STATES.allows("accept", locked.status):
            raise Conflict("This invitation was already used.", code="gone")
        if not locked.is_open:
            raise Conflict("This invitation has expired or was withdrawn.", code="gone")
        membership, _ = Membership.objects.update_or_create(
            user=user,
            defaults={"role": locked.role, "partner_id": locked.partner_id, "is_active": True},
        )
        move(
            locked,
            machine=INVITATION_STATES,
            action="accept",
            actor=user,
            values={"accepted_at": timezone.now(), "accepted_by": user, "token_hash": ""},
            event="accepted",
        )
        # Following the emailed link proves the address.
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
    return membership


def user_create_for_invitation(*, invitation: Invitation, full_name: str, password: str) -> User:
    """The account an open invitation's link makes. A closed one (expired, withdrawn, used)
    makes none: `Conflict`, as `invitation_accept` would answer."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    if not invitation.is_open:
        raise Conflict("This invitation has expired or was withdrawn.", code="gone")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ApplicationError("An account with this email exists; sign in to accept.")
    full_name = clean_text(full_name, field="full_name", label="Your name")
    candidate = User(email=invitation.email, full_name=full_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="password") from None
    return User.objects.create_user(invitation.email, password, full_name=full_name)


def _check_manages(actor: Membership, role: str, partner_id: int | None) -> None:
    """`actor` manages people holding `role` (for `partner_id`): an invitation's, or the role a
    membership is given."""
    if not manages(actor, role=role, partner_id=partner_id):
        raise NotPermitted()


def _lock_admins_and(membership: Membership) -> tuple[Membership, int]:
    """Lock every active vendor admin, in id order, then `membership`; return it as it is now
    and the number of other active admins. One set in one order: two admins demoting each other
    at once wait for each other (instead of deadlocking), and the second sees the first's
    change, so the tenant cannot be left with none."""
    admins = list(
        Membership.objects.select_for_update(no_key=True)
        .filter(role=Role.VENDOR_ADMIN, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    current = lock(Membership, pk=membership.pk)
    if current is None:
        raise Conflict("This membership no longer exists.", code="gone")
    return current, len([pk for pk in admins if pk != membership.pk])


def membership_update(
    *, actor: Membership, membership: Membership, role: str, partner: Partner | None = None
) -> Membership:
    check_member_action(actor=actor, member=membership, action="change_role")
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
        membership, others = _lock_admins_and(membership)
        demoting = membership.role == Role.VENDOR_ADMIN and role != Role.VENDOR_ADMIN
        if demoting and membership.is_active and others == 0:
            raise ApplicationError("A tenant keeps at least one vendor admin.", field="role")
        membership.role = role
        membership.partner = partner
        membership.save(update_fields=["role", "partner"])
    return membership


def membership_deactivate(*, actor: Membership, membership: Membership) -> Membership:
    check_member_action(actor=actor, member=membership, action="remove")
    with transaction.atomic():
        membership, others = _lock_admins_and(membership)
        if membership.role == Role.VENDOR_ADMIN and membership.is_active and others == 0:
            raise ApplicationError("A tenant keeps at least one vendor admin.")
        membership.is_active = False
        membership.save(update_fields=["is_active"])
    return membership


def api_token_create(
    *,
    user: User,
    tenant: Tenant | int | None,
    name: str,
    expires_at: datetime | None = None,
    read_only: bool = False,
    second_factor: bool = False,
) -> tuple[ApiToken, str]:
    """A new token of `user` for `tenant`, one of their workspaces; the key is returned once and
    never stored. In a tenant that requires staff to use an authenticator, a staff member needs
    one, and a session that signed in with it (`second_factor`), to mint a token there."""
    name = clean_text(name, field="name", label="The token's name")
    if not name:
        raise ApplicationError("Name the token, e.g. 'CRM sync'.", field="name")
    tenant_id = getattr(tenant, "pk", tenant)
    membership = next((m for m in memberships_of(user) if m.tenant_id == tenant_id), None)
    if membership is None:
        raise ApplicationError("Choose one of your workspaces.", field="tenant")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("The expiry must be in the future.", field="expires_at")
    refusal = staff_mfa_refusal(membership, session=True, second_factor=second_factor)
    if refusal is not None:
        raise NotPermitted(refusal)
    key = "upl_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        tenant_id=tenant_id,
        name=name,
        prefix=key[:12],
        key_hash=hash_secret(key),
        expires_at=expires_at,
        read_only=read_only,
    )
    return token, key


def api_token_used(*, token: ApiToken, now, within_seconds: int) -> None:
    """Record a use of `token` unless one was recorded in the last `within_seconds` (a token
    used in a loop does not rewrite its row each call)."""
    last = token.last_used_at
    if last is None or (now - last).total_seconds() > within_seconds:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def api_token_revoke(*, user: User, token_id: int) -> None:
    tokens = ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True)
    forget_api_tokens(tokens.values_list("key_hash", flat=True))
    tokens.update(revoked_at=timezone.now())
