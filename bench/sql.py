"""The set-based statements of `bench.generate`: one INSERT … SELECT a table.

`{name}` slots take SQL fragments built from `bench.spread` (CASE expressions, arrays);
`%(name)s` are query parameters, so `%%` is the modulo operator. `pg_temp.u(g, k)` is a
deterministic uniform number in [0, 1) for row `g` and draw `k` (a hash, not `random()`: every
run builds the same rows, and a value can be drawn twice in one row with the same result).
"""

# The tail of both people statements: from a `people` CTE (email, full_name, role, partner_id)
# to users with verified addresses and their memberships, `%(age)s` days old.
PEOPLE_SQL = """
), users AS (
    INSERT INTO tenancy_user (password, is_superuser, email, full_name, is_active, is_staff,
                              date_joined)
    SELECT %(password)s, false, email, full_name, true, false, now() - %(age)s * interval '1 day'
    FROM people
    RETURNING id, email
), addresses AS (
    INSERT INTO account_emailaddress (user_id, email, verified, "primary")
    SELECT id, email, true, true FROM users
)
INSERT INTO tenancy_membership (tenant_id, user_id, role, partner_id, is_active, created_at)
SELECT %(tenant)s, users.id, people.role, people.partner_id, true,
       now() - %(age)s * interval '1 day'
FROM users JOIN people ON people.email = users.email
"""

HELPERS_SQL = """
CREATE FUNCTION pg_temp.u(g bigint, k integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8(g * 1009 + k)::double precision + 2147483648.0) / 4294967296.0 $$
"""

# Vendor staff: users with verified email addresses and a membership each.
STAFF_SQL = (
    """
WITH people AS (
    SELECT p.*, NULL::bigint AS partner_id
    FROM unnest(%(emails)s::text[], %(names)s::text[], %(roles)s::text[])
        AS p (email, full_name, role)
"""
    + PEOPLE_SQL
)

PARTNERS_SQL = """
WITH geo (lo, hi, region, territory, country) AS (VALUES {geography}),
cams AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM tenancy_membership
    WHERE tenant_id = %(tenant)s AND role = 'channel_manager'
),
tiers AS (
    SELECT array_agg(id ORDER BY rank) AS ids FROM partners_tier WHERE tenant_id = %(tenant)s
),
numbered AS (
    SELECT g, (g::bigint * %(stride)s) %% %(names)s AS n
    FROM generate_series(1, %(count)s) AS g
)
INSERT INTO partners_partner (
    tenant_id, name, type, tier_id, region, territory, country, stage, segment,
    channel_manager_id, status, external_id, created_at, updated_at
)
SELECT
    %(tenant)s,
    ({first})[1 + n / %(per_first)s]
        || ' ' || ({second})[1 + (n / %(per_second)s) %% (%(per_first)s / %(per_second)s)]
        || ' ' || ({last})[1 + n %% %(per_second)s],
    {type},
    tiers.ids[{tier}],
    geo.region,
    geo.territory,
    geo.country,
    {stage},
    {segment},
    CASE WHEN pg_temp.u(g, 7) < 0.04 THEN NULL
         ELSE cams.ids[1 + floor(pg_temp.u(g, 8) * array_length(cams.ids, 1))::int] END,
    {status},
    'CRM-' || lpad(g::text, 7, '0'),
    now() - pg_temp.u(g, 9) * interval '1500 days',
    now() - pg_temp.u(g, 10) * interval '60 days'
FROM numbered
CROSS JOIN cams
CROSS JOIN tiers
JOIN geo ON pg_temp.u(g, 3) >= geo.lo AND pg_temp.u(g, 3) < geo.hi
"""

# An admin and a rep for each of the first partners: `admin@p00001.<slug>.example`.
PARTNER_PEOPLE_SQL = (
    """
WITH chosen AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM partners_partner
    WHERE tenant_id = %(tenant)s ORDER BY id LIMIT %(count)s
), people AS (
    SELECT c.id AS partner_id, r.role,
           r.prefix || '@p' || lpad(c.n::text, 5, '0') || '.' || %(slug)s || '.example' AS email,
           'Partner ' || r.label || ' ' || c.n AS full_name
    FROM chosen c
    CROSS JOIN (VALUES ('partner_admin', 'admin', 'Admin'), ('partner_rep', 'rep', 'Rep'))
        AS r (role, prefix, label)
"""
    + PEOPLE_SQL
)

# Drafts start in the future; active and paused programs run today; closed ones have ended.
PROGRAMS_SQL = """
WITH picks AS (
    SELECT g, {kind} AS kind, {status} AS status, {mode} AS mode,
           pg_temp.u(g, 14) AS u_start, pg_temp.u(g, 15) AS u_length
    FROM generate_series(1, %(count)s) AS g
), dated AS (
    SELECT picks.*,
           CASE status
               WHEN 'draft' THEN current_date + 7 + (u_start * 90)::int
               WHEN 'closed' THEN current_date - 400 - (u_start * 400)::int
               ELSE current_date - 10 - (u_start * 300)::int
           END AS starts_on
    FROM picks
)
INSERT INTO incentives_program (
    tenant_id, name, description, kind, status, starts_on, ends_on, claim_window_days, currency,
    budget, eligibility, enrollment_mode, created_by_id, created_at, updated_at
)
SELECT
    %(tenant)s,
    ({products})[1 + floor(pg_temp.u(g, 16) * %(product_count)s)::int] || ' ' || {label}
        || ' ' || to_char(starts_on, '"FY"YYYY "Q"Q'),
    format(%(description)s, {label}, mode),
    kind,
    status,
    starts_on,
    CASE status
        WHEN 'draft' THEN starts_on + 90 + (u_length * 270)::int
        WHEN 'closed' THEN starts_on + 60 + (u_length * 300)::int
        ELSE current_date + 15 + (u_length * 300)::int
    END,
    (ARRAY[30, 45, 60, 90])[1 + floor(pg_temp.u(g, 17) * 4)::int],
    'USD',
    round((5000 + pg_temp.u(g, 18) * 495000)::numeric, -2),
    (%(variants)s::jsonb[])[1 + floor(pg_temp.u(g, 19) * %(variant_count)s)::int],
    mode,
    %(admin)s,
    least(now(), starts_on::timestamptz - interval '21 days'),
    least(now(), starts_on::timestamptz - interval '7 days')
FROM dated
"""

# Version 1 for every program; a version 2 for about one in seven programs past draft.
TERMS_SQL = """
INSERT INTO incentives_programterms (tenant_id, program_id, version, body, created_by_id,
                                     created_at)
SELECT p.tenant_id, p.id, v.version,
       format(%(body)s, p.name, v.version, p.starts_on, p.ends_on, p.claim_window_days,
              p.currency),
       %(admin)s,
       least(now(), p.created_at + (v.version - 1) * interval '30 days')
FROM incentives_program p
CROSS JOIN LATERAL (
    SELECT 1 AS version
    UNION ALL
    SELECT 2 WHERE p.status <> 'draft' AND pg_temp.u(p.id, 20) < 0.15
) AS v
WHERE p.tenant_id = %(tenant)s
"""

# Two to six required partners for about three programs in ten.
REQUIRED_SQL = """
WITH p AS (
    SELECT id, row_number() OVER (ORDER BY id) AS i FROM incentives_program
    WHERE tenant_id = %(tenant)s
), active AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM partners_partner
    WHERE tenant_id = %(tenant)s AND status = 'active'
)
INSERT INTO incentives_requiredpartner (tenant_id, program_id, partner_id)
SELECT %(tenant)s, p.id,
       active.ids[1 + floor(pg_temp.u(p.i * 8 + k, 30) * array_length(active.ids, 1))::int]
FROM p
CROSS JOIN active
CROSS JOIN generate_series(1, 6) AS k
WHERE pg_temp.u(p.i, 31) < 0.3 AND k <= 2 + floor(pg_temp.u(p.i, 32) * 5)
ON CONFLICT DO NOTHING
"""

# Row g goes to program g mod P as its k-th partner (k = g div P): partner number
# (offset of the program + k * stride) mod N, distinct for every k below N since the stride is
# coprime with N. "Re-accept" needs a second terms version; automatic programs invite nobody.
ENROLLMENTS_SQL = """
WITH p AS (
    SELECT id, enrollment_mode, starts_on, ends_on, row_number() OVER (ORDER BY id) - 1 AS i
    FROM incentives_program WHERE tenant_id = %(tenant)s AND status <> 'draft'
), t AS (
    SELECT program_id, min(id) FILTER (WHERE version = 1) AS first_terms,
           max(id) AS latest_terms, max(version) > 1 AS revised
    FROM incentives_programterms WHERE tenant_id = %(tenant)s GROUP BY program_id
), everyone AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM partners_partner WHERE tenant_id = %(tenant)s
), picks AS (
    SELECT g, g %% %(programs)s AS i, g / %(programs)s AS k, {status} AS drawn
    FROM generate_series(0, %(count)s - 1) AS g
), chosen AS (
    SELECT p.id AS program_id, p.enrollment_mode, t.first_terms, t.latest_terms,
           everyone.ids[1 + (floor(pg_temp.u(p.i, 40) * %(partners)s)::bigint
                             + picks.k * %(stride)s) %% %(partners)s] AS partner_id,
           CASE
               WHEN picks.drawn = 'reaccept' AND NOT t.revised THEN 'enrolled'
               WHEN picks.drawn IN ('invited', 'declined') AND p.enrollment_mode = 'automatic'
                   THEN 'enrolled'
               ELSE picks.drawn
           END AS status,
           p.starts_on::timestamptz
               + pg_temp.u(picks.g, 42) * (least(p.ends_on, current_date) - p.starts_on)
               * interval '1 day' AS created_at
    FROM picks
    JOIN p ON p.i = picks.i
    JOIN t ON t.program_id = p.id
    CROSS JOIN everyone
)
INSERT INTO incentives_enrollment (
    tenant_id, program_id, partner_id, status, terms_id, accepted_by_id, accepted_at,
    accepted_from, automatic, invited_by_id, invited_at, created_at, updated_at
)
SELECT
    %(tenant)s, program_id, partner_id, status,
    CASE status WHEN 'enrolled' THEN latest_terms
                WHEN 'invited' THEN NULL WHEN 'declined' THEN NULL
                ELSE first_terms END,
    NULL,
    CASE WHEN status IN ('enrolled', 'reaccept', 'withdrawn')
         THEN created_at + interval '2 days' END,
    NULL,
    enrollment_mode = 'automatic',
    CASE WHEN enrollment_mode = 'invitation' OR status IN ('invited', 'declined')
         THEN %(admin)s END,
    CASE WHEN enrollment_mode = 'invitation' OR status IN ('invited', 'declined')
         THEN created_at END,
    created_at,
    created_at + interval '2 days'
FROM chosen
"""
