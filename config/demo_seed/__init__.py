"""Fill an empty database with the demo data behind `make demo`.

Two vendor tenants. Northwind Networks (`northwind`) runs a realistic channel: a tier ladder
(Registered, Silver, Gold, Platinum); 300 partners spread over types, tiers, regions, territories,
countries, stages and engagement segments, each with a CRM id and, by region, one of the two
channel managers; a partner admin for every active partner and a few full partner teams; three
live programs of different kinds and enrollment modes, with Markdown terms (one at version 2) and
enrollments in every state. The smaller Contoso Security (`contoso`) shares one Northwind partner
rep (so the tenant switcher has something to show). One platform admin. Every account has the
password `uplift-demo` and a verified email address.

Tiers, the named partners, programs, terms, invitations, acceptances, declines and withdrawals go
through the services, so their history exists; the mass of partners and of partner admins is
bulk-created. The partner admin `admin@summitridge.example` is enrolled in two programs and can
still enroll in the open one, so the demo shows the enrollment flow.

Idempotent: when the `northwind` tenant exists, the command says so and changes nothing.
Tenant-owned rows are written inside `tenant_scope()` of their tenant, as row-level security
demands of the application role.
"""
