"""The demo channel's fixed data: people, partners, shares and terms texts."""

from __future__ import annotations

from dataclasses import dataclass

from partners.models import PartnerType
from tenancy.roles import Role

DEMO_PASSWORD = "uplift-demo"  # noqa: S105  (published in the demo banner on purpose)
DEMO_SLUG = "northwind"
PLATFORM_ADMIN = ("admin@uplift.example", "Priya Raman")

NORTHWIND_STAFF = [
    ("admin@northwind.example", "Dana Whitfield", Role.VENDOR_ADMIN),
    ("cam@northwind.example", "Marcus Bell", Role.CHANNEL_MANAGER),
    ("cam2@northwind.example", "Elena Ortiz", Role.CHANNEL_MANAGER),
    ("finance@northwind.example", "Grace Liu", Role.CLAIMS_REVIEWER),
]

CONTOSO_STAFF = [
    ("admin@contoso.example", "Nadia Petrova", Role.VENDOR_ADMIN),
    ("cam@contoso.example", "Tom Becker", Role.CHANNEL_MANAGER),
]

# Northwind's channel: value-added resellers, managed service providers and distributors.
NORTHWIND_PARTNERS = [
    "Summit Ridge IT",
    "Bluewater Technology Partners",
    "Keystone Network Solutions",
    "Redwood Systems Integration",
    "Harborview Computing",
    "Ironclad Infrastructure",
    "Meridian Tech Group",
    "Granite State Networks",
    "Silverline Communications",
    "Copperfield Data",
    "Lakeshore Business Systems",
    "Northstar Technology Solutions",
    "Prairie Digital",
    "Oakmont IT Services",
    "Tidewater Networks",
    "Cobalt Ridge Consulting",
    "Evergreen Integration Group",
    "Highland Data Solutions",
    "Beacon Managed Services",
    "Clearpath MSP",
    "Anchor Point Managed IT",
    "Brightline Cloud Services",
    "Sentinel Managed Networks",
    "Lighthouse IT Partners",
    "Crestview Managed Services",
    "TrueNorth Cloud",
    "Vantage Point IT",
    "Bayside Tech Support",
    "Alpine Managed Networks",
    "Riverbend MSP",
    "Atlas Distribution",
    "Continental Channel Supply",
    "Pacific Rim Distribution",
    "Midwest Network Distributors",
    "Eastgate Technology Distribution",
    "Falcon Secure Networks",
    "Horizon Unified Communications",
    "Pioneer Wireless Solutions",
    "Stonebridge Systems",
    "Westfield Connect",
]

CONTOSO_PARTNERS = [
    "Summit Ridge IT",
    "Falcon Secure Networks",
    "Sentinel Managed Networks",
    "Harborview Computing",
    "Shieldwall Security Partners",
    "Redline Cyber Defense",
]


@dataclass(frozen=True)
class PartnerTeam:
    """The people of one partner company: its admin and its reps, by email domain."""

    partner: str
    domain: str
    reps: int

    def emails(self) -> list[tuple[str, Role]]:
        people = [
            (f"admin@{self.domain}", Role.PARTNER_ADMIN),
            (f"rep@{self.domain}", Role.PARTNER_REP),
        ]
        people += [(f"rep{n}@{self.domain}", Role.PARTNER_REP) for n in range(2, self.reps + 1)]
        return people


NORTHWIND_TEAMS = [
    PartnerTeam("Summit Ridge IT", "summitridge.example", reps=2),
    PartnerTeam("Keystone Network Solutions", "keystone.example", reps=1),
    PartnerTeam("Meridian Tech Group", "meridian.example", reps=2),
    PartnerTeam("Beacon Managed Services", "beacon.example", reps=1),
    PartnerTeam("Alpine Managed Networks", "alpine.example", reps=1),
    PartnerTeam("Atlas Distribution", "atlas.example", reps=2),
]

# The Summit Ridge rep who also sells for Contoso: one person, two tenants.
SHARED_REP = ("rep@summitridge.example", "Summit Ridge IT")

PENDING_INVITATION = ("jordan.lee@tidewater.example", Role.PARTNER_ADMIN, "Tidewater Networks")

# The rest of Northwind's channel, named from these words (the named partners above come first).
CHANNEL_SIZE = 300
# fmt: off
COMPANY_WORDS = [
    "Apex", "Arcadia", "Bridgeway", "Canyon", "Cascade", "Cedar", "Cornerstone", "Delta",
    "Elevate", "Fairway", "Frontier", "Gateway", "Harbor", "Insight", "Juniper", "Kestrel",
    "Landmark", "Magnolia", "Nexus", "Orion", "Paragon", "Quantum", "Redstone", "Sequoia",
    "Skyline", "Summitview", "Trinity", "Upland", "Vertex", "Willow",
]
COMPANY_SUFFIXES = [
    "IT", "Networks", "Systems", "Technology", "Solutions", "Computing", "Data Systems",
    "Managed Services", "Cloud", "Integration", "Communications", "Security", "Consulting",
    "Tech Group", "Connect", "Infrastructure",
]
# fmt: on
# fmt: off
CHANNEL_TYPES = {
    "reseller": 30, "var": 25, "msp": 18, "referral": 10, "dealer": 7, "contractor": 6,
    "distributor": 4,
}
TIER_LADDER = {"Registered": 45, "Silver": 30, "Gold": 18, "Platinum": 7}  # name: share
STAGES = {"new": 25, "developing": 40, "established": 35}
SEGMENTS = {"achiever": 20, "believer": 30, "deceiver": 10, "unassessed": 40}
INACTIVE_SHARE = 0.07
UNASSIGNED_SHARE = 0.05
# region: (share, its channel manager, territory: countries with the main market first)
REGIONS = {
    "North America": (45, "cam@northwind.example", {
        "US West": ["US"], "US Central": ["US"], "US East": ["US"], "Canada": ["CA"],
    }),
    "LATAM": (10, "cam@northwind.example", {
        "Brazil": ["BR"], "Mexico": ["MX"], "Southern Cone": ["AR", "CL"],
    }),
    "EMEA": (30, "cam2@northwind.example", {
        "UK & Ireland": ["GB", "IE"], "DACH": ["DE", "AT", "CH"],
        "France & Benelux": ["FR", "BE", "NL"], "Nordics": ["SE", "NO", "DK"],
    }),
    "APAC": (15, "cam2@northwind.example", {
        "ANZ": ["AU", "NZ"], "Japan": ["JP"], "Southeast Asia": ["SG", "MY"],
    }),
}
# fmt: on
# The named partners' business, in NORTHWIND_PARTNERS order: integrators, MSPs, distributors.
NAMED_TYPES = [PartnerType.VAR] * 18 + [PartnerType.MSP] * 12 + [PartnerType.DISTRIBUTOR] * 5
NAMED_TYPES += [PartnerType.RESELLER] * 5
# Summit Ridge is where the partner logins land: a Gold VAR, eligible for all three programs.
SUMMIT_RIDGE = "Summit Ridge IT"
PINNED = {
    SUMMIT_RIDGE: {
        "tier": "Gold",
        "region": "North America",
        "territory": "US West",
        "country": "US",
        "stage": "established",
        "segment": "achiever",
    },
}

SPIFF_TERMS_V1 = """## {name}: terms

Northwind pays a **sales performance incentive** to the sales reps of enrolled partners for
every NW-FW firewall sold to an end customer between **{starts}** and **{ends}**.

- **$150** a unit for NW-FW 200 and 400, **$400** a unit for NW-FW 1200 and above.
- Claims are accepted up to **30 days** after the invoice date, with the invoice attached.
- Payouts are capped at **$5,000 per rep** for the quarter.
- Renewals, internal use and sales to another partner do not qualify.
"""
# Version 2 edits version 1, as a program manager would, and says what changed.
SPIFF_TERMS_V2 = (
    SPIFF_TERMS_V1.replace("$400", "$500").replace("$5,000", "$6,000")
    + """
### What changed in version 2
The payout for NW-FW 1200 and above rises to $500 a unit and the cap to $6,000 per rep. Accept
these terms again to keep claiming.
"""
)
REBATE_TERMS = """## {name}: terms

Gold and Platinum partners earn a **quarterly rebate** on net Northwind revenue between
**{starts}** and **{ends}**, paid as a credit note within 45 days of the quarter's end.

| Quarterly net revenue | Rebate |
|---|---|
| up to $250,000 | 2% |
| $250,000 to $1,000,000 | 3% |
| above $1,000,000 | 4% |

- Revenue is counted from the sell-through reports of authorised distributors.
- Claims are accepted up to **60 days** after the invoice date.
- Participation is by invitation and may end with 30 days' notice.
"""
POINTS_TERMS = """## {name}: terms

Every active partner earns **Northwind points** for certifications its people complete between
**{starts}** and **{ends}**; points are redeemed in the Northwind rewards catalog.

- **500 points** for an associate certification, **1,500** for a professional one.
- A certification counts once a person; renewals earn half.
- Submit the certificate within **90 days** of passing the exam.
- Enrollment is automatic; a partner admin may withdraw the company at any time.
"""

# fmt: off
FIRST_NAMES = [
    "Aisha", "Ben", "Carla", "Dev", "Erin", "Felix", "Hana", "Isaac", "Jade", "Kofi", "Lena",
    "Mateo", "Noor", "Owen", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wendy", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Adeyemi", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "Gupta", "Hayes", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "O'Neill", "Patel", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Varga", "Walsh",
]
# fmt: on
