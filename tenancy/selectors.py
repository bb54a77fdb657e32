"""Reads of tenants, memberships and invitations."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import Http404

from tenancy.caching import bump_generation, forget
from tenancy.context import invitation_link_scope, own_memberships_scope, tenant_scope
from tenancy.models import ApiToken, Invitation, Membership, User, hash_secret
from tenancy.permissions import PARTNER_ROLES, STAFF_ROLES, is_partner_person

# Bumped by any change of a tenant (its settings travel with the cached memberships): every
# cached entry carries the generation it was read in and is refused under another.
TENANTS_GENERATION_KEY = "tenancy:memberships:tenants-generation"


def _memberships_key(user_id: int) -> str:
    return f"tenancy:memberships:v1:{user_id}"


def forget_memberships(user_ids) -> None:
    """Drops the cached memberships of these users now and again when the transaction commits
    (a request reading between the two would otherwise cache the old rows until the TTL)."""
    forget([_memberships_key(user_id) for user_id in user_ids])


def forget_all_memberships() -> None:
    """Makes every cached membership stale (a tenant changed), now and on commit."""
    bump_generation(TENANTS_GENERATION_KEY)


def _token_key(key_hash: str) -> str:
    return f"tenancy:api-token:v1:{key_hash}"


def forget_api_tokens(key_hashes) -> None:
    """Drops these tokens' cached rows now and again when the transaction commits (see
    `live_token`)."""
    forget([_token_key(key_hash) for key_hash in key_hashes])


def forget_api_tokens_of(user_id: int) -> None:
    forget_api_tokens(ApiToken.objects.filter(user_id=user_id).values_list("key_hash", flat=True))


# Key hash -> user id of the tokens this process has met (a token never changes hands): the
# user's cached memberships are then asked for in the same round trip as the token.
_TOKEN_USERS_KEPT = 4096
_token_users: dict[str, int] = {}
# The attribute of a user read with its token that carries what the cache held of its
# memberships for `memberships_of` (a user object read from the cache lives for one request).
_MEMBERSHIPS_READ = "_uplift_memberships_read"


def live_token(key_hash: str) -> tuple[ApiToken | None, bool]:
    """The unrevoked token with this key hash, with its user (None when there is none), and
    whether it was read from the database just now rather than from the cache.

    Every API request asks, so a token read from the database is cached
    (`remember_token`, `API_TOKEN_CACHE_SECONDS`; a read of the token and its user was a fifth
    of a small list request). A change of the token or of its user (revocation, a password
    change, deactivation) drops the cached copy (`tenancy.signals`), so a revoked token stops
    working at once. Once the process has met the token, the user's cached memberships come in
    the same round trip (`memberships_of` takes them from the user)."""
    token_key = _token_key(key_hash)
    user_id = _token_users.get(key_hash)
    if user_id is None:
        token = cache.get(token_key)
    else:
        memberships_key = _memberships_key(user_id)
        found = cache.get_many([token_key, memberships_key, TENANTS_GENERATION_KEY])
        token = found.get(token_key)
        if token is not None and token.user_id == user_id:
            read = (found.get(memberships_key), found.get(TENANTS_GENERATION_KEY, 0))
            setattr(token.user, _MEMBERSHIPS_READ, read)
    if token is not None:
        _note_token_user(key_hash, token.user_id)
        return token, False
    # The user without their password hash, which has no business in a cache; a save of this
    # user writes only the fields loaded, and reading the password loads it.
    token = (
        ApiToken.objects.select_related("user")
        .defer("user__password")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .first()
    )
    if token is not None:
        _note_token_user(key_hash, token.user_id)
    return token, token is not None


def _note_token_user(key_hash: str, user_id: int) -> None:
    if key_hash not in _token_users:
        if len(_token_users) >= _TOKEN_USERS_KEPT:
            _token_users.clear()
        _token_users[key_hash] = user_id


def _user_key(user_id: int) -> str:
    return f"tenancy:session-user:v1:{user_id}"


def forget_session_user(user_id: int) -> None:
    """Drops the person's cached copy now and again when the transaction commits."""
    forget([_user_key(user_id)])


def session_user(user_id) -> User | None:
    """The person a signed-in session names (None when there is none), for the
    authentication backends (`tenancy.auth`): every page request asks, so the person is cached
    for `SESSION_USER_CACHE_SECONDS` (`User.cache_copy`: the session hash, not the password
    hash). A save or delete of the person drops the copy (`tenancy.signals`), so a
    deactivation or a password change applies at once."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    user = cache.get(_user_key(pk))
    if user is not None:
        return user
    user = User._default_manager.filter(pk=pk).first()
    if user is not None:
        cache.set(_user_key(pk), user.cache_copy(), settings.SESSION_USER_CACHE_SECONDS)
    return user


def remember_token(token: ApiToken) -> None:
    cache.set(_token_key(token.key_hash), token, settings.API_TOKEN_CACHE_SECONDS)


def memberships_of(user: User) -> list[Membership]:
    """The user's own active memberships in active tenants, across tenants: read before any
    tenant is bound (the membership check, the tenant switcher).

    Cached per user for `MEMBERSHIP_CACHE_SECONDS` (every request of the dashboard and the API
    asks; an API token's request has read the cache with its token, `live_token`); a change
    of a membership or of a tenant drops the cache of the users concerned (`tenancy.signals`),
    so a removed member loses access at once."""
    if not user.is_authenticated:
        return []
    key = _memberships_key(user.pk)
    read = user.__dict__.pop(_MEMBERSHIPS_READ, None)
    if read is None:
        found = cache.get_many([key, TENANTS_GENERATION_KEY])
        read = (found.get(key), found.get(TENANTS_GENERATION_KEY, 0))
    cached, generation = read
    if cached is not None and cached[0] == generation:
        return cached[1]
    memberships = _read_memberships(user)
    cache.set(key, (generation, memberships), settings.MEMBERSHIP_CACHE_SECONDS)
    return memberships


def _read_memberships(user: User) -> list[Membership]:
    # Wall 1 is stepped round by name here (the plain base manager, filtered by user); wall 2
    # opens exactly these rows (`own_memberships_scope`). The partner is read later, under the
    # membership's own tenant.
    with own_memberships_scope(user.pk):
        return list(
            Membership._base_manager.filter(user=user, is_active=True, tenant__is_active=True)
            .select_related("tenant")
            .order_by("tenant__name")
        )


def with_partner_names(memberships: list[Membership]) -> list[Membership]:
    """Load each partner membership's partner under that membership's own tenant (the switcher
    lists several tenants; one short read each, and a person has a handful)."""
    for membership in memberships:
        if membership.partner_id is not None:
            with tenant_scope(membership.tenant_id):
                membership.partner  # noqa: B018  (fetched and cached on the instance)
    return memberships


def partner_choices_for(actor: Membership) -> QuerySet:
    """The partner companies `actor` may pick for a membership or an invitation: the tenant's,
    or only their own for partner people. Read through the membership's own relation, so the
    kernel needs nothing of the partners app."""
    partners = Membership._meta.get_field("partner").related_model.objects.order_by("name")
    if is_partner_person(actor):
        partners = partners.filter(pk=actor.partner_id)
    return partners


def membership_for(memberships: list[Membership], tenant_slug: str) -> Membership:
    """The membership for `tenant_slug` among the user's own, or 404 (the same answer as for a
    tenant that does not exist)."""
    for membership in memberships:
        if membership.tenant.slug == tenant_slug:
            return membership
    raise Http404("No such tenant.")


def staff_list() -> QuerySet[Membership]:
    """The bound tenant's active vendor staff (who can be a partner's channel account manager),
    by email."""
    return (
        Membership.objects.filter(is_active=True, role__in=sorted(STAFF_ROLES))
        .select_related("user")
        .order_by("user__email")
    )


def member_list_for(
    actor: Membership,
    *,
    role: str | None = None,
    search: str = "",
    partner_id: int | None = None,
) -> QuerySet[Membership]:
    """Active members `actor` may see: everyone for staff, their own company for partner people."""
    queryset = (
        Membership.objects.filter(is_active=True)
        .select_related("user", "partner")
        .order_by("user__email")
    )
    if is_partner_person(actor):
        queryset = queryset.filter(partner_id=actor.partner_id)
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    if role:
        queryset = queryset.filter(role=role)
    if search:
        queryset = queryset.filter(
            Q(user__email__icontains=search) | Q(user__full_name__icontains=search)
        )
    return queryset


def active_members(roles) -> QuerySet[Membership]:
    """The bound tenant's active members holding one of `roles`."""
    return Membership.objects.filter(is_active=True, role__in=sorted(roles))


def member_count_parts() -> dict:
    """Active vendor staff and partner people of the bound tenant, as `tally` parts."""
    return {
        "staff_count": ("count", active_members(STAFF_ROLES)),
        "partner_people_count": ("count", active_members(PARTNER_ROLES)),
    }


def access_membership(actor: Membership, membership_id: object) -> Membership:
    """An active member of the bound tenant that `actor` may see, else 404."""
    try:
        return member_list_for(actor).get(pk=int(membership_id))
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such member.") from None


def invitation_list_for(
    actor: Membership,
    *,
    status: str | None = Invitation.Status.PENDING,
    partner_id: int | None = None,
) -> QuerySet[Invitation]:
    """Invitations `actor` may see: all for staff, their own company's for partner people."""
    queryset = Invitation.objects.select_related("partner", "invited_by")
    if is_partner_person(actor):
        queryset = queryset.filter(partner_id=actor.partner_id)
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def access_invitation(actor: Membership, invitation_id: object) -> Invitation:
    try:
        return invitation_list_for(actor, status=None).get(pk=int(invitation_id))
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invitation.") from None


def invitation_by_token(token: str) -> Invitation:
    """The invitation a link carries, in any tenant: the token is the credential. 404 otherwise."""
    token_hash = hash_secret(token)
    # As for memberships: the base manager, and wall 2 opens this one invitation only.
    with invitation_link_scope(token_hash):
        invitation = (
            Invitation._base_manager.select_related("tenant")
            .filter(token_hash=token_hash)
            .exclude(token_hash="")
            .first()
        )
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    if invitation.partner_id is not None:
        with tenant_scope(invitation.tenant_id):
            invitation.partner  # noqa: B018  (the page names the partner; read in its tenant)
    return invitation


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's tokens that are not revoked (expired ones too, marked on the page)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).select_related("tenant")
