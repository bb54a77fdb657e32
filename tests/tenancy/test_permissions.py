"""Who may do what: the capability matrix, every tenant view's declaration, and the rule that
no module but `tenancy.permissions` defines a set of roles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tenancy.permissions import (
    CAPABILITIES,
    MANAGED_ROLES,
    can,
    capabilities_of,
    check_capability_declaration,
    manages,
    roles_with,
)
from tenancy.roles import Role

VA, CM, CR, PA, PR = (
    Role.VENDOR_ADMIN,
    Role.CHANNEL_MANAGER,
    Role.CLAIMS_REVIEWER,
    Role.PARTNER_ADMIN,
    Role.PARTNER_REP,
)
ROLES = [VA, CM, CR, PA, PR]

# The expected matrix, written out by hand: a change of who may do what changes this table.
MATRIX = {
    "tenant.view": {VA, CM, CR, PA, PR},
    "settings.edit": {VA},
    "portal.view": {PA, PR},
    "people.view": {VA, CM, CR},
    "people.manage": {VA, CM, PA},
    "partners.view": {VA, CM, CR},
    "partners.edit": {VA, CM},
    "partners.import": {VA, CM},
    "tiers.edit": {VA},
    "programs.view": {VA, CM, CR},
    "programs.edit": {VA, CM},
    "enrollments.enroll_on_behalf": {VA, CM},
    "enrollments.decide_for_partner": {PA},
    "claims.view": {VA, CM, CR, PA, PR},
    "claims.submit": {PA, PR},
    "claims.for_partner": {PA},
    "claims.review": {VA, CM, CR},
}


class Member:
    def __init__(self, role: str, partner_id: int | None = None) -> None:
        self.role = role
        self.partner_id = partner_id


def test_the_matrix_names_every_capability():
    assert set(MATRIX) == set(CAPABILITIES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("capability", sorted(MATRIX))
def test_capability_matrix(role, capability):
    assert can(Member(role), capability) is (role in MATRIX[capability])
    assert (capability in capabilities_of(role)) is (role in MATRIX[capability])


def test_an_unknown_capability_fails_loudly():
    with pytest.raises(KeyError):
        can(Member(VA), "partners.delete_everything")


def test_no_membership_holds_nothing():
    assert not any(can(None, capability) for capability in CAPABILITIES)


def test_roles_with_intersects_capabilities():
    assert roles_with("people.view", "people.manage") == {VA, CM}
    assert roles_with("portal.view", "people.manage") == {PA}
    assert roles_with("tenant.view", None) == set(ROLES)


@pytest.mark.parametrize(
    ("actor", "role", "partner_id", "expected"),
    [
        (Member(VA), CM, None, True),
        (Member(VA), PR, 7, True),
        (Member(CM), VA, None, False),
        (Member(CM), PA, 7, True),
        (Member(CR), PR, 7, False),
        (Member(PA, 7), PR, 7, True),
        (Member(PA, 7), PR, 8, False),
        (Member(PA, 7), CM, None, False),
        (Member(PR, 7), PR, 7, False),
    ],
)
def test_who_manages_whom(actor, role, partner_id, expected):
    assert manages(actor, role=role, partner_id=partner_id) is expected


def test_only_people_managers_manage_anyone():
    assert set(MANAGED_ROLES) == MATRIX["people.manage"]


def _tenant_views():
    """(route, view class) for every URL under /t/ and /api/v1/t/."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None) or getattr(
                    pattern.callback, "cls", None
                )
                if view is not None and "tenant_slug" in route:
                    yield route, view

    return list(walk(get_resolver().url_patterns))


def test_every_tenant_view_declares_known_capabilities():
    views = _tenant_views()
    assert len(views) > 30
    for route, view in views:
        assert view.capability in CAPABILITIES, route
        assert view.write_capability is None or view.write_capability in CAPABILITIES, route


def test_a_view_that_declares_roles_is_refused():
    class OldStyle:
        roles = frozenset({"vendor_admin"})

    class Page(OldStyle):
        capability = "tenant.view"

    with pytest.raises(TypeError):
        check_capability_declaration(Page)


# No role sets outside tenancy/permissions.py

ROOT = Path(__file__).resolve().parents[2]
APPS = ["tenancy", "partners", "incentives", "config"]
HOME = ROOT / "tenancy" / "permissions.py"


def _role_member(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Role"
    )


def _assigned_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Assign):
        return [getattr(target, "id", "") for target in node.targets]
    if isinstance(node, ast.AnnAssign):
        return [getattr(node.target, "id", "")]
    return []


def role_set_definitions(source: str) -> list[str]:
    """Where `source` spells a set of roles: a set, frozenset or membership test over `Role`
    members, an assignment to a `*_ROLES` name, a `roles`/`write_roles` class attribute, or an
    import of anything but `Role` from `tenancy.roles`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Set) and any(map(_role_member, node.elts)):
            found.append(f"{where}: a set of roles")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"frozenset", "set"}
            and any(_role_member(n) for arg in node.args for n in ast.walk(arg))
        ):
            found.append(f"{where}: {node.func.id}() of roles")
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, ast.In | ast.NotIn) for op in node.ops
        ):
            for side in node.comparators:
                if isinstance(side, ast.Tuple | ast.List | ast.Set) and any(
                    map(_role_member, side.elts)
                ):
                    found.append(f"{where}: a membership test over roles")
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                for name in _assigned_names(statement):
                    if name in {"roles", "write_roles"}:
                        found.append(f"line {statement.lineno}: {node.name}.{name} =")
        elif any(name.endswith("_ROLES") for name in _assigned_names(node)):
            found.append(f"{where}: {', '.join(_assigned_names(node))} =")
        elif isinstance(node, ast.ImportFrom) and node.module == "tenancy.roles":
            extra = [alias.name for alias in node.names if alias.name != "Role"]
            if extra:
                found.append(f"{where}: imports {', '.join(extra)} from tenancy.roles")
    return found


def test_the_detector_finds_role_sets():
    samples = [
        "EDITORS = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER})",
        "require(actor, {Role.VENDOR_ADMIN})",
        "ok = actor.role in (Role.PARTNER_ADMIN, Role.PARTNER_REP)",
        "PEOPLE_ROLES = ADMINS | OTHERS",
        "class V:\n    roles = STAFF\n",
        "from tenancy.roles import STAFF_ROLES",
    ]
    for sample in samples:
        assert role_set_definitions(sample), sample
    assert not role_set_definitions("if actor.role == Role.VENDOR_ADMIN:\n    pass\n")
    assert not role_set_definitions('PEOPLE = [("a@b.example", "A", Role.VENDOR_ADMIN)]')
    assert not role_set_definitions("def handle():\n    roles = [('uplift_app', 'secret')]\n")


def test_no_module_outside_permissions_defines_a_role_set():
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if path == HOME or "migrations" in path.parts:
                continue
            for where in role_set_definitions(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)} {where}")
    assert offenders == []
