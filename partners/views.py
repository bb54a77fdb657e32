"""Dashboard pages for partner companies and the tier ladder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.contrib import messages
from django.db.models import Count
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import FormView, TemplateView

from partners import selectors, services
from partners.actions import partner_actions_for
from partners.forms import PartnerForm, TierForm, TierMoveForm, partner_initial
from partners.models import Partner, PartnerStatus, PartnerType, Segment, Stage
from partners.panels import HISTORY_LIMIT, PartnerPanel, panels_for
from tenancy.api.pagination import ListPaginator, list_key
from tenancy.audit import action_label, history_of
from tenancy.errors import ApplicationError
from tenancy.formats import escape, short_date_writer
from tenancy.forms import apply_errors
from tenancy.models import AuditEvent
from tenancy.permissions import can
from tenancy.selectors import invitation_list_for, member_list_for, staff_list
from tenancy.web import TenantPageMixin, refused_form_status

PAGE_SIZE = 50
SORTABLE = ["name", "tier", "region", "stage", "created"]
FIELD_LABELS = {"external_id": "CRM id", "channel_manager": "channel account manager"}


def query_without(params: QueryDict, *keys: str, **extra: str) -> str:
    """The query string less `keys`, plus `extra`: a link that keeps the other filters."""
    kept = params.copy()
    for key in (*keys, *extra):
        kept.pop(key, None)
    for key, value in extra.items():
        kept[key] = value
    return kept.urlencode()


def sort_links(params: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the query that sorts by it (reversed when it is already the sort,
    if that order exists) and its `aria-sort` state."""
    links = {}
    for key in SORTABLE:
        descending = f"-{key}"
        target = descending if current == key and descending in selectors.SORTS else key
        state = {key: "ascending", descending: "descending"}.get(current, "none")
        links[key] = {"query": query_without(params, "page", sort=target), "state": state}
    return links


def options_html(choices, selected) -> str:
    """`<option>`s of a filter menu from `(value, label)` pairs, those in `selected` marked, as
    HTML written here rather than by a template loop (a hundred options and a membership test
    each were a third of the page's template time). Values and labels are escaped. A menu and
    its selection are written once a process (the menus change seldom; they come from the
    cache, `selectors.filter_values`)."""
    return _options_html(tuple(choices), frozenset(selected))


@lru_cache(maxsize=512)
def _options_html(choices: tuple, selected: frozenset) -> str:
    return mark_safe(  # noqa: S308  (every value and label escaped)
        "".join(
            f'<option value="{escape(value)}"{" selected" if value in selected else ""}>'
            f"{escape(label)}</option>"
            for value, label in choices
        )
    )


def filter_options(filters: selectors.PartnerFilters) -> dict[str, str]:
    """The options of each filter menu, the current filters selected: the cached menus
    (`selectors.filter_values`) and the fixed choices."""
    menus = selectors.filter_values()
    manager = [] if filters.channel_manager is None else [filters.channel_manager]
    return {
        "type": options_html(PartnerType.choices, filters.types),
        "tier": options_html(((t.pk, t.name) for t in menus["tiers"]), filters.tiers),
        "region": options_html(((v, v) for v in menus["region"]), filters.regions),
        "territory": options_html(((v, v) for v in menus["territory"]), filters.territories),
        "country": options_html(((v, v) for v in menus["country"]), filters.countries),
        "stage": options_html(Stage.choices, filters.stages),
        "segment": options_html(Segment.choices, filters.segments),
        "status": options_html(PartnerStatus.choices, filters.statuses),
        "channel_manager": options_html(((m.pk, m.name) for m in menus["managers"]), manager),
    }


ROW = (
    '<tr><td><a href="{detail}">{name}</a>{crm}</td><td>{type}</td><td>{tier}</td>'
    "<td>{region}{territory}{country}</td><td>{stage}</td><td>{segment}</td><td>{manager}</td>"
    '<td><span class="badge partner-{status}">{status_label}</span></td><td>{added}</td>'
    "{edit}</tr>"
)
LABELS = {
    "type": dict(PartnerType.choices),
    "stage": dict(Stage.choices),
    "segment": dict(Segment.choices),
    "status": dict(PartnerStatus.choices),
}


# The columns `partner_rows` reads, as `QuerySet.values()` names them.
ROW_VALUES = (
    "id",
    "name",
    "external_id",
    "type",
    "tier_id",
    "tier__name",
    "region",
    "territory",
    "country",
    "stage",
    "segment",
    "channel_manager_id",
    "channel_manager__user__full_name",
    "channel_manager__user__email",
    "status",
    "created_at",
)


def partner_rows(partners, *, tenant_slug: str, can_edit: bool) -> str:
    """The rows of the partner table as HTML from `values(*ROW_VALUES)`, written here rather
    than by a template loop: the template engine spent about 15 ms a page of 50 on them (a URL
    reversed twice a row, a display method and a filter a cell), and a model instance for the
    partner, its tier, its manager and the manager's user was most of what was left. Every
    value from the database goes through `escape` (the standard library's, which Django's own
    `escape` wraps, without the per-call lazy-string checks of `format_html`)."""
    detail = reverse("partner_detail", args=[tenant_slug, 0]).replace("/0/", "/{}/")
    edit = reverse("partner_edit", args=[tenant_slug, 0]).replace("/0/", "/{}/")
    dash = '<span class="muted">—</span>'
    short_date = short_date_writer()
    out = []
    for p in partners:
        name = escape(p["name"])
        if p["channel_manager_id"]:
            manager = escape(
                p["channel_manager__user__full_name"] or p["channel_manager__user__email"]
            )
        else:
            manager = dash
        external_id, territory, country = p["external_id"], p["territory"], p["country"]
        out.append(
            ROW.format(
                detail=detail.format(p["id"]),
                name=name,
                crm=f"<br><small>{escape(external_id)}</small>" if external_id else "",
                type=escape(LABELS["type"].get(p["type"], p["type"])),
                tier=escape(p["tier__name"]) if p["tier_id"] else "—",
                region=escape(p["region"]) if p["region"] else "—",
                territory=f" · {escape(territory)}" if territory else "",
                country=f"<br><small>{escape(country)}</small>" if country else "",
                stage=escape(LABELS["stage"].get(p["stage"], p["stage"])),
                segment=escape(LABELS["segment"].get(p["segment"], p["segment"])),
                manager=manager,
                status=escape(p["status"]),
                status_label=escape(LABELS["status"].get(p["status"], p["status"])),
                added=escape(short_date(p["created_at"])),
                edit=f'<td><a href="{edit.format(p["id"])}" aria-label="Edit {name}">Edit</a></td>'
                if can_edit
                else "",
            )
        )
    return mark_safe("\n".join(out))  # noqa: S308  (every database value escaped above)


class PartnerListView(TenantPageMixin, TemplateView):
    """Partners with search, a filter on every attribute, sortable columns and pages of 50;
    `?mine=1` narrows to the signed-in channel manager's partners."""

    capability = "partners.view"
    template_name = "partners/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        filters = selectors.PartnerFilters.from_query(params, me=self.membership)
        partners = selectors.partner_rows_for(
            self.membership, filters, ROW_VALUES, key=("page-partners", *list_key(self.request))
        )
        page = ListPaginator(partners, PAGE_SIZE).get_page(params.get("page"))
        can_edit = can(self.membership, "partners.edit")
        context.update(
            page=page,
            rows=partner_rows(
                page.object_list, tenant_slug=self.membership.tenant.slug, can_edit=can_edit
            ),
            filters=filters,
            mine=bool(params.get("mine")),
            query=query_without(params, "page"),
            sorts=sort_links(params, filters.sort),
            all_query=query_without(params, "page", "mine"),
            mine_query=query_without(params, "page", "channel_manager", mine="1"),
            can_edit=can_edit,
            options=filter_options(filters),
        )
        return context


@dataclass(frozen=True)
class TimelineEntry:
    subject: str
    event: AuditEvent

    @property
    def action(self) -> str:
        return action_label(self.event.action)

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field, old, new) for each changed field, field names in words."""
        changes = self.event.changes if isinstance(self.event.changes, dict) else {}
        return [
            (FIELD_LABELS.get(name, name.replace("_", " ")), *pair)
            for name, pair in changes.items()
            if isinstance(pair, list | tuple) and len(pair) == 2
        ]


def partner_timeline(partner: Partner, panels: list[PartnerPanel]) -> list[TimelineEntry]:
    """The partner's history and the history its page's panels add, newest first."""
    entries = [TimelineEntry("Partner", event) for event in history_of(partner, HISTORY_LIMIT)]
    entries += [
        TimelineEntry(subject, event) for panel in panels for subject, event in panel.history
    ]
    entries.sort(key=lambda entry: (entry.event.at, entry.event.pk), reverse=True)
    return entries[:HISTORY_LIMIT]


class PartnerDetailView(TenantPageMixin, TemplateView):
    """A partner's attributes, people, the panels other apps add (programs) and history."""

    capability = "partners.view"
    template_name = "partners/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = selectors.access_partner(self.membership, self.kwargs["partner_id"])
        panels = panels_for(self.membership, partner)
        context.update(
            partner=partner,
            people=member_list_for(self.membership, partner_id=partner.pk),
            invitations=invitation_list_for(self.membership, partner_id=partner.pk),
            panels=panels,
            timeline=partner_timeline(partner, panels),
            actions=partner_actions_for(self.membership, partner),
        )
        return context


class PartnerFormMixin:
    """The partner form: scoped tier and manager choices, a service call, field-named errors."""

    capability = "partners.edit"
    template_name = "partners/form.html"
    form_class = PartnerForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        return {**kwargs, "tiers": selectors.tier_list(), "managers": staff_list()}

    def save(self, data: dict) -> Partner:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            partner = self.save(form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        messages.success(self.request, f"{partner.name} saved.")
        return redirect("partner_detail", self.request.tenant.slug, partner.pk)


class PartnerCreateView(PartnerFormMixin, TenantPageMixin, FormView):
    def save(self, data: dict) -> Partner:
        return services.partner_create(actor=self.membership, **data)


class PartnerEditView(PartnerFormMixin, TenantPageMixin, FormView):
    @cached_property
    def partner(self) -> Partner:
        return selectors.access_partner(self.membership, self.kwargs["partner_id"])

    def get_initial(self):
        return partner_initial(self.partner)

    def get_context_data(self, **kwargs):
        return super().get_context_data(partner=self.partner, **kwargs)

    def save(self, data: dict) -> Partner:
        return services.partner_update(actor=self.membership, partner=self.partner, **data)


class TierListView(TenantPageMixin, FormView):
    """The tier ladder, highest rung first: staff read it, vendor admins change it."""

    capability = "partners.view"
    write_capability = "tiers.edit"
    template_name = "partners/tiers.html"
    form_class = TierForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ladder = selectors.tier_list().annotate(partner_count=Count("partners"))
        context["tiers"] = list(ladder)[::-1]
        context["can_edit"] = can(self.membership, "tiers.edit")
        return context

    def form_valid(self, form):
        try:
            tier = services.tier_create(actor=self.membership, name=form.cleaned_data["name"])
        except ApplicationError as error:
            apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        messages.success(self.request, f"{tier.name} added at the top of the ladder.")
        return redirect("tiers", self.request.tenant.slug)


def valid_data(form) -> dict:
    """The form's cleaned data, or an ApplicationError with its first reason."""
    if not form.is_valid():
        field, reasons = next(iter(form.errors.items()))
        raise ApplicationError(reasons[0], field=field)
    return form.cleaned_data


class TierActionView(TenantPageMixin, View):
    """POST only: one change to one rung, reported as a message on the ladder page."""

    capability = "tiers.edit"

    def post(self, request, tenant_slug, tier_id):
        tier = selectors.access_tier(tier_id)
        try:
            messages.success(request, self.perform(tier, request.POST))
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect("tiers", tenant_slug)

    def perform(self, tier, data: QueryDict) -> str:
        raise NotImplementedError


class TierRenameView(TierActionView):
    def perform(self, tier, data: QueryDict) -> str:
        before = tier.name
        name = valid_data(TierForm(data))["name"]
        tier = services.tier_update(actor=self.membership, tier=tier, name=name)
        return f"{before} is now called {tier.name}."


class TierMoveView(TierActionView):
    def perform(self, tier, data: QueryDict) -> str:
        form = TierMoveForm(data)
        direction = valid_data(form)["direction"]
        ladder = list(selectors.tier_list().values_list("pk", flat=True))
        services.tier_reorder(actor=self.membership, tier_ids=form.order(ladder, tier.pk))
        return f"{tier.name} moved {direction}."


class TierDeleteView(TierActionView):
    def perform(self, tier, data: QueryDict) -> str:
        services.tier_delete(actor=self.membership, tier=tier)
        return f"{tier.name} deleted."
