"""Pages of the tenancy app: the home and tenant switcher, the dashboard shell, people and
invitations, tenant settings, invitation links and personal API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Page
from django.db import connection
from django.db.models import Exists
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import FormView, TemplateView

from tenancy import forms, selectors, services
from tenancy.actions import (
    vendor_admins_up_to_two,
    with_invitation_actions,
    with_member_actions,
)
from tenancy.api import pagination
from tenancy.api.pagination import CompiledRows, ListPaginator, list_key, with_capped_count
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.formats import escape
from tenancy.forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    InvitationForm,
    MemberRoleForm,
    TenantSettingsForm,
    apply_errors,
    form_as_p,
    too_many_for_a_menu,
)
from tenancy.models import Membership, User
from tenancy.permissions import can, is_partner_person, manageable_roles
from tenancy.roles import Role
from tenancy.second_factor import session_passed_second_factor
from tenancy.web import TenantPageMixin, query_without_page, refused_form_status


def tenant_home_url(membership: Membership) -> str:
    name = "portal_home" if is_partner_person(membership) else "dashboard"
    return reverse(name, args=[membership.tenant.slug])


class HomeView(TemplateView):
    """Signed out: what Uplift is. Signed in: the tenant switcher (straight in with one tenant;
    a platform admin in no tenant goes to the admin)."""

    template_name = "home.html"

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return super().get(request, *args, **kwargs)
        memberships = selectors.memberships_of(request.user)
        request.memberships = memberships
        if len(memberships) == 1 and not request.GET.get("switch"):
            return redirect(tenant_home_url(memberships[0]))
        if not memberships and request.user.is_staff:
            return redirect("admin:index")
        entries = [(m, tenant_home_url(m)) for m in selectors.with_partner_names(memberships)]
        return self.render_to_response({"entries": entries})


def healthz(request) -> JsonResponse:
    """Liveness for the load balancer: the database and the cache answer."""
    from django.core.cache import cache

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.get("healthz")
    return JsonResponse({"status": "ok"})


def _invitable_roles(membership: Membership) -> list[tuple[str, str]]:
    invitable = manageable_roles(membership)
    return [(value, label) for value, label in Role.choices if value in invitable]


MEMBERS_PAGE_SIZE = 50


MEMBER_ROW = (
    '<tr class="member-row"><td>{name}<br><small>{email}</small></td><td>{role}</td>'
    '<td data-label="Partner">{partner}</td><td>{remove}</td></tr>'
)
ROLE_FORM = (
    '<form class="inline" method="post" action="{action}">{csrf}'
    '<select name="role" aria-label="Role of {email}">{options}</select>'
    '<button class="small secondary">Save</button></form>'
)
REMOVE_FORM = (
    '<form class="inline" method="post" action="{action}" data-confirm="Remove {who} from '
    '{tenant}? They lose access at once.">{csrf}<button class="small danger">Remove</button>'
    "</form>"
)
ROLE_LABELS = dict(Role.choices)

# The columns of a People row, as `QuerySet.values()` names them.
MEMBER_ROW_VALUES = ("id", "role", "partner_id", "user__email", "user__full_name", "partner__name")


class MemberRow:
    """A row of the People table from `values(*MEMBER_ROW_VALUES)`: what `with_member_actions`
    reads of a membership (`pk`, `role`, `partner_id`) and what `member_rows` writes, without a
    model instance for the membership, its person and its company."""

    __slots__ = (
        "actions",
        "email",
        "full_name",
        "partner_id",
        "partner_name",
        "pk",
        "role",
        "role_choices",
    )

    def __init__(self, values: dict):
        self.pk = values["id"]
        self.role = values["role"]
        self.partner_id = values["partner_id"]
        self.email = values["user__email"]
        self.full_name = values["user__full_name"]
        self.partner_name = values["partner__name"]


@lru_cache(maxsize=256)
def _member_row_urls(tenant_slug: str) -> tuple[str, str, str]:
    """The role, removal and partner URLs of a workspace's People rows, with `{}` for the id,
    reversed once a process per workspace."""
    return tuple(
        reverse(name, args=[tenant_slug, 0]).replace("/0/", "/{}/")
        for name in ("member_role", "member_remove", "partner_detail")
    )


def _braced(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def member_rows(members, *, tenant, csrf_token: str) -> str:
    """The rows of the People table as HTML, written here rather than by a template loop: the
    template engine spent most of the page's time on them (a role form, a CSRF field and up to
    three reversed URLs a row). `members` are `MemberRow`s from `with_member_actions`. Every
    value from the database goes through `escape` (the standard library's, which Django's own
    `escape` wraps, without its per-call lazy-string checks)."""
    role_url, remove_url, partner_url = _member_row_urls(tenant.slug)
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
    # What is the same on every row is written into the forms once (braces doubled, as the
    # forms are still formatted a row).
    role_form = ROLE_FORM.replace("{csrf}", _braced(csrf))
    remove_form = REMOVE_FORM.replace("{csrf}", _braced(csrf)).replace(
        "{tenant}", _braced(escape(tenant.name))
    )
    options_by_choice: dict[tuple, str] = {}  # (choices, selected role) -> <option>s
    choices, choices_key = None, ()
    out = []
    for m in members:
        email = escape(m.email)
        full_name = escape(m.full_name)
        actions = m.actions
        if "change_role" in actions:
            if m.role_choices is not choices:  # one list for every row of a page, mostly
                choices, choices_key = m.role_choices, tuple(m.role_choices)
            key = (choices_key, m.role)
            options = options_by_choice.get(key)
            if options is None:
                options = options_by_choice[key] = "".join(
                    f'<option value="{escape(v)}"{" selected" if v == m.role else ""}>'
                    f"{escape(label)}</option>"
                    for v, label in choices
                )
            role = role_form.format(action=role_url.format(m.pk), email=email, options=options)
        else:
            role = escape(ROLE_LABELS.get(m.role, m.role))
        if m.partner_id:
            partner = f'<a href="{partner_url.format(m.partner_id)}">{escape(m.partner_name)}</a>'
        else:
            partner = "—"
        remove = ""
        if "remove" in actions:
            remove = remove_form.format(action=remove_url.format(m.pk), who=full_name or email)
        out.append(
            MEMBER_ROW.format(
                name=full_name or "—", email=email, role=role, partner=partner, remove=remove
            )
        )
    return mark_safe("".join(out))  # noqa: S308  (every database value escaped above)


@dataclass
class PeoplePage:
    """A page of the People table: the Django page, its rows with their actions, and what the
    rest of the page needs to know, read with the rows (None: not read, ask)."""

    page: Page
    members: list[MemberRow]
    many_partners: bool | None = None  # too many partners for the invitation form's menu
    invitations_pending: bool | None = None  # any pending invitation the actor may see


def people_page(actor: Membership, params, *, key: tuple, with_form: bool) -> PeoplePage:
    """The page of the People table `params` ask for (its filters and page number), for
    `actor`, and with `with_form` whether the invitation form's partner menu would be too long.

    One statement for a full first page: the rows, the list's capped count (`count_with_rows`),
    the tenant's vendor admins up to two for the sole-admin rule (only when `actor` manages
    vendor admins), the partner menu's check and whether any invitation is pending, as
    columns PostgreSQL computes once. A page with no rows answers none of these. The statement
    is compiled once a process (`CompiledRows`) for `key`, who asks and the parameters
    (`list_key`), with everything else it is made of: `with_form` and the two limits written
    into it."""
    role, search = params.get("role") or None, params.get("q", "")

    def build():
        members = selectors.member_list_for(actor, role=role, search=search)
        extra = {"invitations_pending": Exists(selectors.invitation_list_for(actor))}
        if Role.VENDOR_ADMIN in manageable_roles(actor):
            extra["vendor_admins"] = vendor_admins_up_to_two()
        if with_form:
            extra["many_partners"] = too_many_for_a_menu(selectors.partner_choices_for(actor))
        values = members.values(*MEMBER_ROW_VALUES).annotate(**extra)
        return with_capped_count(values, members)

    limits = (forms.PARTNER_MENU_LIMIT, pagination.COUNT_CAP)
    rows = CompiledRows(("page-people", *key, with_form, *limits), build)
    page = ListPaginator(rows, MEMBERS_PAGE_SIZE, count_with_rows=rows).get_page(params.get("page"))
    first = page.object_list[0] if page.object_list else {}
    members = with_member_actions(
        actor, map(MemberRow, page.object_list), vendor_admins=first.get("vendor_admins")
    )
    return PeoplePage(
        page,
        members,
        many_partners=first.get("many_partners"),
        invitations_pending=first.get("invitations_pending"),
    )


class MembersView(TenantPageMixin, FormView):
    """People and pending invitations; the invite form posts here."""

    capability = "people.view"
    write_capability = "people.manage"
    template_name = "dashboard/members.html"
    # Read with the page's rows on a GET (`people_page`); None: the form asks.
    many_partners: bool | None = None

    def get_form(self, form_class=None):
        return InvitationForm(
            **self.get_form_kwargs(),
            roles=_invitable_roles(self.membership),
            partners=selectors.partner_choices_for(self.membership),
            many_partners=self.many_partners,
        )

    def get_context_data(self, **kwargs):
        params = self.request.GET
        can_manage = can(self.membership, "people.manage")
        if not can_manage:
            kwargs.setdefault("form", None)  # the page offers no invitation form
        people = people_page(
            self.membership,
            params,
            key=list_key(self.request),
            with_form=can_manage and "form" not in kwargs,
        )
        self.many_partners = people.many_partners
        context = super().get_context_data(**kwargs)
        context["role_filter"] = params.get("role", "")
        context["roles"] = Role.choices
        context["members_page"] = people.page
        context["members_query"] = query_without_page(params)
        context["members"] = people.members
        context["member_rows"] = member_rows(
            people.members, tenant=self.membership.tenant, csrf_token=get_token(self.request)
        )
        invitations = []
        if people.invitations_pending is not False:
            invitations = selectors.invitation_list_for(self.membership)[:200]
        context["invitations"] = with_invitation_actions(self.membership, invitations)
        context["can_manage"] = can_manage
        if can_manage:
            context["invite_form_html"] = form_as_p(context["form"])
        return context

    def form_valid(self, form):
        try:
            invitation = services.invitation_create(actor=self.membership, **form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        messages.success(self.request, f"Invitation to {invitation.email} is on its way.")
        return redirect("members", self.request.tenant.slug)


class MemberRoleView(TenantPageMixin, View):
    capability = "people.manage"

    def post(self, request, tenant_slug, member_id):
        member = selectors.access_membership(self.membership, member_id)
        form = MemberRoleForm(request.POST)
        if form.is_valid():
            try:
                services.membership_update(
                    actor=self.membership, membership=member, role=form.cleaned_data["role"]
                )
                messages.success(request, f"{member.user} is now {member.get_role_display()}.")
            except ApplicationError as error:
                messages.error(request, error.message)
        else:
            messages.error(request, "Choose one of the listed roles.")
        return redirect(_people_page(self.membership), tenant_slug)


class MemberRemoveView(TenantPageMixin, View):
    capability = "people.manage"

    def post(self, request, tenant_slug, member_id):
        member = selectors.access_membership(self.membership, member_id)
        try:
            services.membership_deactivate(actor=self.membership, membership=member)
            messages.success(request, f"{member.user} no longer has access.")
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(_people_page(self.membership), tenant_slug)


def _people_page(membership: Membership) -> str:
    return "portal_team" if is_partner_person(membership) else "members"


class InvitationActionView(TenantPageMixin, View):
    """POST-only: revoke or resend an invitation."""

    capability = "people.manage"
    action = "revoke"

    def post(self, request, tenant_slug, invitation_id):
        invitation = selectors.access_invitation(self.membership, invitation_id)
        service = (
            services.invitation_revoke if self.action == "revoke" else services.invitation_resend
        )
        try:
            service(actor=self.membership, invitation=invitation)
            verb = "withdrawn" if self.action == "revoke" else "sent again"
            messages.success(request, f"Invitation to {invitation.email} {verb}.")
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(_people_page(self.membership), tenant_slug)


class TenantSettingsView(TenantPageMixin, FormView):
    capability = "settings.edit"
    template_name = "dashboard/settings.html"
    form_class = TenantSettingsForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.membership.tenant}

    def form_valid(self, form):
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.tenant_update(actor=self.membership, **changed)
        except ApplicationError as error:
            apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        messages.success(self.request, "Settings saved.")
        return redirect("tenant_settings", self.request.tenant.slug)


class PortalHomeView(TenantPageMixin, TemplateView):
    capability = "portal.view"
    template_name = "portal/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["partner"] = self.membership.partner
        context["team_size"] = selectors.member_list_for(self.membership).count()
        return context


class PortalTeamView(TenantPageMixin, FormView):
    """A partner admin's own people: reps and admins of their company."""

    capability = "portal.view"
    write_capability = "people.manage"
    template_name = "portal/team.html"

    def get_form(self, form_class=None):
        return InvitationForm(**self.get_form_kwargs(), roles=_invitable_roles(self.membership))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = with_member_actions(
            self.membership, selectors.member_list_for(self.membership)
        )
        context["invitations"] = with_invitation_actions(
            self.membership, selectors.invitation_list_for(self.membership)
        )
        context["can_manage"] = can(self.membership, "people.manage")
        return context

    def form_valid(self, form):
        try:
            invitation = services.invitation_create(actor=self.membership, **form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        messages.success(self.request, f"Invitation to {invitation.email} is on its way.")
        return redirect("portal_team", self.request.tenant.slug)


class InvitationAcceptView(View):
    """The emailed link. Signed in with the invited address: one click to join. No account yet:
    name and password, and the account is made. An account exists: sign in first."""

    template_name = "invitation_accept.html"

    def _render(self, request, invitation, form=None, error=None, status=400) -> HttpResponse:
        has_account = User.objects.filter(email__iexact=invitation.email).exists()
        context = {
            "invitation": invitation,
            "form": form,
            "error": error,
            "has_account": has_account,
        }
        if form is None and not request.user.is_authenticated and not has_account:
            context["form"] = AcceptInvitationForm()
        return render(request, self.template_name, context, status=status if error else 200)

    def _closed(self, request, invitation) -> HttpResponse:
        return self._render(
            request, invitation, error="This invitation has expired or was withdrawn.", status=410
        )

    def get(self, request, token):
        invitation = selectors.invitation_by_token(token)
        if not invitation.is_open:
            return self._closed(request, invitation)
        return self._render(request, invitation)

    def post(self, request, token):
        invitation = selectors.invitation_by_token(token)
        if not invitation.is_open:  # before anything is made: no account from a dead link
            return self._closed(request, invitation)
        user = request.user
        form = None
        try:
            if not user.is_authenticated:
                form = AcceptInvitationForm(request.POST)
                if not form.is_valid():
                    return self._render(request, invitation, form=form)
                user = services.user_create_for_invitation(
                    invitation=invitation, **form.cleaned_data
                )
            membership = services.invitation_accept(invitation=invitation, user=user)
        except ApplicationError as error:
            if form is not None:
                apply_errors(form, error)
                return self._render(request, invitation, form=form)
            status = 409 if isinstance(error, Conflict) else 400  # e.g. used by a second click
            return self._render(request, invitation, error=error.message, status=status)
        if not request.user.is_authenticated:
            login(request, user, backend="tenancy.auth.ModelBackend")
        messages.success(request, f"Welcome to {invitation.tenant.name}.")
        return redirect(tenant_home_url(membership))


class ApiTokensView(LoginRequiredMixin, FormView):
    template_name = "account/api_tokens.html"
    form_class = ApiTokenForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["memberships"] = selectors.memberships_of(self.request.user)
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = selectors.api_tokens_of(self.request.user)
        context["now"] = timezone.now()
        return context

    def form_valid(self, form):
        expires_on = form.cleaned_data["expires_on"]
        expires_at = (
            datetime.combine(expires_on, time.min, tzinfo=UTC) if expires_on is not None else None
        )
        try:
            token, key = services.api_token_create(
                user=self.request.user,
                tenant=form.cleaned_data["tenant"],
                name=form.cleaned_data["name"],
                expires_at=expires_at,
                read_only=form.cleaned_data["read_only"],
                second_factor=session_passed_second_factor(self.request),
            )
        except ApplicationError as error:
            if "expires_at" in error.errors:
                error.errors["expires_on"] = error.errors.pop("expires_at")
            if isinstance(error, NotPermitted):
                form.add_error(None, error.message)
            else:
                apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = 403 if isinstance(error, NotPermitted) else 200
            return response
        fresh = ApiTokenForm(memberships=form.memberships)
        return self.render_to_response(
            self.get_context_data(form=fresh, new_key=key, new_token=token)
        )


class ApiTokenRevokeView(LoginRequiredMixin, View):
    def post(self, request, token_id):
        services.api_token_revoke(user=request.user, token_id=token_id)
        messages.success(request, "Token revoked.")
        return redirect("api_tokens")
