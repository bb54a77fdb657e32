"""Forms of the program pages. They parse what a page posts; the services decide what may
change and name the fields they refuse."""

from __future__ import annotations

from django import forms

from incentives.claims.types import ClaimKind
from incentives.eligibility import ATTRIBUTES
from incentives.models import EnrollmentMode, ProgramKind
from incentives.services.programs import PERIOD_ERROR
from incentives.services.programs import PROGRAM_FIELDS as SERVICE_PROGRAM_FIELDS
from partners.models import PartnerType, Segment, Stage
from tenancy.errors import ApplicationError
from tenancy.forms import apply_errors

# Eligibility has a widget group of its own (ELIGIBILITY_FIELDS).
PROGRAM_FIELDS = [name for name in SERVICE_PROGRAM_FIELDS if name != "eligibility"]
# eligibility key -> form field
ELIGIBILITY_FIELDS = {key: f"eligibility_{key}" for key in ATTRIBUTES}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _checkboxes(label: str, help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, required=False, widget=forms.CheckboxSelectMultiple, help_text=help_text
    )


class ProgramForm(forms.Form):
    """A program's fields and its eligibility, one checkbox group an attribute (none ticked is
    "any"). Fields in `locked` are shown disabled; a browser does not send them, so their
    current values stand in, and a value sent anyway goes to the service, which refuses it."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    kind = forms.ChoiceField(choices=ProgramKind.choices)
    starts_on = forms.DateField(label="Starts on", widget=DateInput)
    ends_on = forms.DateField(label="Ends on", widget=DateInput)
    claim_window_days = forms.IntegerField(
        label="Claim window (days)",
        min_value=0,
        max_value=3650,
        initial=30,
        help_text="Days after the sale (or activity) that a claim is accepted.",
    )
    currency = forms.CharField(min_length=3, max_length=3, help_text="ISO 4217, e.g. EUR.")
    budget = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    enrollment_mode = forms.ChoiceField(
        label="Enrollment",
        choices=EnrollmentMode.choices,
        initial=EnrollmentMode.OPEN,
        widget=forms.RadioSelect,
    )
    claim_kinds = forms.MultipleChoiceField(
        label="Claims it takes",
        choices=ClaimKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked on a new program: what its kind is about (sales, or behaviours).",
    )
    eligible_skus = forms.CharField(
        label="Eligible products",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="SKUs, one a line or separated by commas. Empty: any product.",
    )
    eligibility_types = _checkboxes("Partner types", "None ticked: every type.")
    eligibility_tiers = forms.TypedMultipleChoiceField(
        label="Tiers",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every tier.",
    )
    eligibility_regions = _checkboxes("Regions")
    eligibility_territories = _checkboxes("Territories")
    eligibility_countries = _checkboxes("Countries")
    eligibility_stages = _checkboxes("Stages")
    eligibility_segments = _checkboxes("Segments")

    def __init__(
        self,
        *args,
        tiers: list[tuple[int, str]],
        values: dict[str, list[str]],
        locked: frozenset[str] = frozenset(),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["eligibility_types"].choices = PartnerType.choices
        self.fields["eligibility_stages"].choices = Stage.choices
        self.fields["eligibility_segments"].choices = Segment.choices
        self.fields["eligibility_tiers"].choices = tiers
        for key in ("regions", "territories", "countries"):
            # Values in use, and any the program names that no partner holds any more.
            kept = set(values.get(key, [])) | set(self.initial.get(ELIGIBILITY_FIELDS[key]) or [])
            self.fields[ELIGIBILITY_FIELDS[key]].choices = [(v, v) for v in sorted(kept)]
        for field in self.fields.values():
            if field.required:  # marked for assistive technology; the label shows a mark
                field.widget.attrs["aria-required"] = "true"
        self.locked_fields = self._form_fields(locked)
        for name in self.locked_fields:
            self.fields[name].widget.attrs["disabled"] = True
        if self.is_bound and self.locked_fields:
            self.data = self._with_current_values(self.data)

    @staticmethod
    def _form_fields(service_fields: frozenset[str]) -> list[str]:
        names = [name for name in PROGRAM_FIELDS if name in service_fields]
        if "eligibility" in service_fields:
            names += list(ELIGIBILITY_FIELDS.values())
        return names

    def _with_current_values(self, data):
        data = data.copy()
        for name in self.locked_fields:
            if name in data:
                continue
            value = self.initial.get(name)
            if isinstance(value, list | tuple):
                data.setlist(name, [str(v) for v in value])
            elif value is not None:
                data[name] = str(value)
        return data

    def clean(self) -> dict:
        """An end before the start is reported with the other field errors, not after them
        (the service checks it again)."""
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", PERIOD_ERROR)
        return cleaned

    def clean_description(self) -> str:
        return self.cleaned_data["description"].replace("\r\n", "\n")

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def program_data(self) -> dict:
        """The service's keyword arguments: the fields, and eligibility as one object."""
        data = {name: self.cleaned_data[name] for name in PROGRAM_FIELDS}
        data["eligibility"] = {
            key: sorted(set(self.cleaned_data[field]))
            for key, field in ELIGIBILITY_FIELDS.items()
            if self.cleaned_data[field]
        }
        return data

    @classmethod
    def initial_for(cls, program) -> dict:
        initial = {name: getattr(program, name) for name in PROGRAM_FIELDS}
        initial["eligible_skus"] = "\n".join(program.eligible_skus)
        for key, field in ELIGIBILITY_FIELDS.items():
            initial[field] = list(program.eligibility.get(key) or [])
        return initial

    def eligibility_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ELIGIBILITY_FIELDS.values()]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PROGRAM_FIELDS]


def apply_program_errors(form: forms.Form, error: ApplicationError) -> None:
    """Attach a service's reasons to the form: `eligibility.<key>` lands on that attribute's
    field, `eligibility` on the form as a whole."""
    renamed: dict[str, list[str]] = {}
    for field, messages in error.errors.items():
        # `eligibility.tiers[3]` names one value of the tiers; the form shows it on the group.
        key = (
            field.split(".", 1)[1].split("[", 1)[0]
            if field and field.startswith("eligibility.")
            else None
        )
        name = ELIGIBILITY_FIELDS.get(key, field) if key else field
        renamed.setdefault(name, []).extend(messages)
    apply_errors(form, ApplicationError(error.message, code=error.code, errors=renamed))


class TermsForm(forms.Form):
    body = forms.CharField(
        label="New terms version (Markdown)",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Partners who accepted earlier terms are asked to accept this version.",
    )


class IdListField(forms.Field):
    """Ids sent as repeated values (`partner_ids=3&partner_ids=9`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        try:
            return sorted({int(v) for v in value or []})
        except (TypeError, ValueError):
            raise forms.ValidationError("Partners are given by id.") from None


class PartnerIdsForm(forms.Form):
    partner_ids = IdListField(required=False)
    # The partners a picker showed: of these, the ticked ones are chosen and the others not.
    shown_partner_ids = IdListField(required=False)
    everyone = forms.BooleanField(required=False)


class AcceptTermsForm(forms.Form):
    terms_version = forms.IntegerField(min_value=1)


class EnrollOnBehalfForm(forms.Form):
    """Staff enroll a partner on its behalf; the service checks the reason (required, one line,
    bounded) and names it."""

    partner_id = forms.IntegerField(min_value=1)
    reason = forms.CharField(required=False, strip=False)
    terms_version = forms.IntegerField(min_value=1, required=False)


class EnrollmentImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, at most 10 MB.")
