from __future__ import annotations

from django import forms
from django.db.models import Exists, QuerySet

from tenancy.errors import ApplicationError
from tenancy.models import TIME_ZONE_CHOICES, Tenant
from tenancy.permissions import PARTNER_ROLES
from tenancy.roles import Role
from tenancy.text import clean_text

# Unbound forms' HTML by what it is made of (`form_as_p`), and how many a process keeps.
_UNBOUND_HTML: dict[tuple, str] = {}
UNBOUND_HTML_ENTRIES = 256


def _unbound_shape(form: forms.Form) -> tuple | None:
    """Everything an unbound form's `as_p()` is made of: its class, prefix and, a field, the
    field's and widget's classes, label, help text, flags, attributes, choices and initial
    value. None when a field would read its choices from the database (a model menu)."""
    parts: list = [type(form), form.prefix, form.auto_id, form.use_required_attribute]
    for name, field in form.fields.items():
        choices = None
        if isinstance(field, forms.ModelChoiceField):
            if isinstance(field.widget, forms.Select):
                return None
        elif isinstance(field, forms.ChoiceField):
            choices = tuple((str(value), str(label)) for value, label in field.choices)
        parts.append(
            (
                name,
                type(field),
                type(field.widget),
                str(field.label),
                str(field.help_text),
                field.required,
                field.disabled,
                tuple(sorted((key, str(value)) for key, value in field.widget.attrs.items())),
                choices,
                repr(form.get_initial_for_field(field, name)),
            )
        )
    return tuple(parts)


def form_as_p(form: forms.Form) -> str:
    """`form.as_p()`, remembered by the process for an unbound form (the same fields, labels,
    choices and initial values always render the same HTML; rendering a form's widget
    templates was a sixth of the People page). A bound form, or one with a menu read from the
    database, renders every time."""
    shape = None if form.is_bound else _unbound_shape(form)
    if shape is None:
        return form.as_p()
    html = _UNBOUND_HTML.get(shape)
    if html is None:
        if len(_UNBOUND_HTML) >= UNBOUND_HTML_ENTRIES:
            _UNBOUND_HTML.clear()
        html = _UNBOUND_HTML[shape] = form.as_p()
    return html


class VendorSignupForm(forms.Form):
    """Extra sign-up fields: the person's name and the vendor company the sign-up creates."""

    full_name = forms.CharField(max_length=200, label="Your name")
    company_name = forms.CharField(
        max_length=200, label="Company", help_text="Your vendor organisation; you become its admin."
    )

    def clean_full_name(self) -> str:
        return cleaned_text(self, "full_name")

    def clean_company_name(self) -> str:
        return cleaned_text(self, "company_name")

    def signup(self, request, user) -> None:
        """Nothing left to do: `AccountAdapter.save_user` stores the name and creates the tenant
        in the transaction that creates the user."""


# Above this many partners the invitation form asks for the partner's id instead of listing
# them all (a menu of 50,000 partners is megabytes of HTML on every People page).
PARTNER_MENU_LIMIT = 200


def too_many_for_a_menu(partners: QuerySet) -> Exists:
    """Whether `partners` are more than `PARTNER_MENU_LIMIT`, as an expression: a page reads it
    with its rows and hands it to `InvitationForm` (`many_partners`), which then asks nothing."""
    return Exists(partners[PARTNER_MENU_LIMIT : PARTNER_MENU_LIMIT + 1])


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(choices=Role.choices)
    partner = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(
        self,
        *args,
        roles: list[tuple[str, str]],
        partners=None,
        many_partners: bool | None = None,
        **kwargs,
    ):
        """`partners`: the companies a partner role may be given (None: no partner field);
        `many_partners`: whether they are too many for a menu, when already known
        (`too_many_for_a_menu`), else asked here."""
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles
        if partners is None:
            del self.fields["partner"]
        else:
            field = self.fields["partner"]
            field.queryset = partners
            field.help_text = "Required for partner roles."
            if many_partners is None:
                many_partners = partners[PARTNER_MENU_LIMIT : PARTNER_MENU_LIMIT + 1].exists()
            if many_partners:
                field.widget = forms.NumberInput(attrs={"min": 1})
                field.label = "Partner id"
                field.help_text = (
                    "Required for partner roles: the number in the address of the partner's page."
                )

    def clean(self):
        data = super().clean()
        if (
            "partner" in self.fields
            and data.get("role") in PARTNER_ROLES
            and not data.get("partner")
        ):
            self.add_error("partner", "A partner role needs the partner company.")
        return data


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TenantSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)

    class Meta:
        model = Tenant
        fields = ["name", "default_currency", "time_zone", "require_staff_mfa"]


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(max_length=200, label="Your name")
    password = forms.CharField(widget=forms.PasswordInput, label="Choose a password")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", help_text="e.g. CRM sync")
    tenant = forms.TypedChoiceField(
        label="Workspace", coerce=int, help_text="The token acts in this workspace only."
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        help_text="Optional: the token stops working at the start of this day (UTC).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    read_only = forms.BooleanField(
        required=False, label="Read-only", help_text="The token may read but change nothing."
    )

    def __init__(self, *args, memberships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = list(memberships)
        self.fields["tenant"].choices = [("", "Choose a workspace")] + [
            (m.tenant_id, m.tenant.name) for m in self.memberships
        ]


def cleaned_text(form: forms.Form, name: str) -> str:
    """A `clean_<field>` for text the services check with `tenancy.text` before they run (as
    the sign-up's, which allauth saves without a service to answer): the same rule, as a form
    error."""
    try:
        return clean_text(form.cleaned_data.get(name), field=name, label=form.fields[name].label)
    except ApplicationError as error:
        raise forms.ValidationError(error.message) from None


def apply_errors(form: forms.Form, error) -> None:
    """Attach an ApplicationError's reasons to the form fields they name."""
    if not error.errors:
        form.add_error(None, error.message)
        return
    for field, messages in error.errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
