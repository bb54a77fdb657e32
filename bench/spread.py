"""The shape of the benchmark channel: weighted attribute spreads, geography and word lists.

Weights are relative; `bench.generate` turns them into CASE expressions over a deterministic hash
of the row number, so every run builds the same rows.
"""

from __future__ import annotations

PARTNER_TYPES = [
    ("reseller", 30),
    ("var", 25),
    ("msp", 18),
    ("referral", 10),
    ("dealer", 8),
    ("contractor", 6),
    ("distributor", 3),
]
TIERS = ["Registered", "Silver", "Gold", "Platinum"]
TIER_WEIGHTS = [(1, 50), (2, 28), (3, 16), (4, 6)]  # rank on the ladder
STAGES = [("new", 25), ("developing", 40), ("established", 35)]
SEGMENTS = [("achiever", 20), ("believer", 30), ("deceiver", 10), ("unassessed", 40)]
STATUSES = [("active", 94), ("inactive", 6)]

# region -> (weight, territory -> (countries, weight within the region)).
GEOGRAPHY = {
    "North America": (
        40,
        {
            "US West": (["US"], 30),
            "US Central": (["US"], 20),
            "US East": (["US"], 35),
            "Canada": (["CA"], 15),
        },
    ),
    "EMEA": (
        32,
        {
            "UK & Ireland": (["GB", "IE"], 22),
            "DACH": (["DE", "AT", "CH"], 24),
            "France & Benelux": (["FR", "BE", "NL", "LU"], 18),
            "Nordics": (["SE", "NO", "DK", "FI"], 12),
            "Southern Europe": (["ES", "IT", "PT"], 14),
            "Middle East & Africa": (["AE", "SA", "ZA"], 10),
        },
    ),
    "APAC": (
        18,
        {
            "ANZ": (["AU", "NZ"], 30),
            "Japan": (["JP"], 20),
            "ASEAN": (["SG", "MY", "TH", "ID"], 25),
            "India": (["IN"], 15),
            "Korea": (["KR"], 10),
        },
    ),
    "LATAM": (
        10,
        {
            "Brazil": (["BR"], 40),
            "Mexico": (["MX"], 30),
            "Southern Cone": (["AR", "CL", "UY"], 20),
            "Andean": (["CO", "PE"], 10),
        },
    ),
}


def geography_rows() -> list[tuple[float, float, str, str, str]]:
    """(lo, hi, region, territory, country): consecutive slices of [0, 1), one a country, each
    as wide as its share of the channel."""
    shares = []
    region_total = sum(weight for weight, _ in GEOGRAPHY.values())
    for region, (region_weight, territories) in GEOGRAPHY.items():
        territory_total = sum(weight for _, weight in territories.values())
        for territory, (countries, weight) in territories.items():
            # The first country listed is the territory's main market: three times the others.
            country_weights = [3] + [1] * (len(countries) - 1)
            for country, country_weight in zip(countries, country_weights, strict=True):
                share = (
                    region_weight
                    / region_total
                    * weight
                    / territory_total
                    * country_weight
                    / sum(country_weights)
                )
                shares.append((region, territory, country, share))
    rows, lo = [], 0.0
    for region, territory, country, share in shares:
        rows.append((lo, lo + share, region, territory, country))
        lo += share
    rows[-1] = (*rows[-1][:1], 1.0, *rows[-1][2:])  # rounding must not leave a gap below 1
    return rows


# fmt: off
NAME_FIRST = [
    "Summit", "Bluewater", "Keystone", "Redwood", "Harborview", "Ironclad", "Meridian", "Granite",
    "Silverline", "Copperfield", "Lakeshore", "Northstar", "Prairie", "Oakmont", "Tidewater",
    "Cobalt", "Evergreen", "Highland", "Beacon", "Clearpath", "Anchor", "Brightline", "Sentinel",
    "Lighthouse", "Crestview", "TrueNorth", "Vantage", "Bayside", "Alpine", "Riverbend", "Atlas",
    "Continental", "Pacific", "Midwest", "Eastgate", "Falcon", "Horizon", "Pioneer", "Stonebridge",
    "Westfield",
]
NAME_SECOND = [
    "Ridge", "Peak", "Bridge", "Point", "Valley", "Harbor", "Forge", "Crest", "Gate", "Field",
    "Stone", "River", "Cloud", "Wave", "Signal", "Circuit", "Vector", "Matrix", "Core", "Edge",
    "Arc", "Pulse", "Shield", "Grid", "Link",
]
NAME_LAST = [
    "IT", "Networks", "Systems", "Technology Partners", "Solutions", "Computing", "Data",
    "Managed Services", "Cloud", "Integration", "Communications", "Distribution", "Security",
    "Consulting", "Group", "Digital", "Connect", "Infrastructure", "Tech", "Services",
    "Wireless", "Labs", "Secure", "Partners", "Supply", "Unified", "Logic", "Works", "Online",
    "Direct", "Systems Integration", "Business Systems", "MSP", "Cyber", "Telecom", "Datacom",
    "Networks & Security", "Technologies", "IT Services", "Enterprise", "Channel", "Global",
    "Pro", "Hosting", "Analytics", "Storage", "Mobility", "Voice", "Automation", "Edge Systems",
]
PRODUCTS = [
    "Firewall", "SD-WAN", "Switching", "Wi-Fi 7", "Endpoint Security", "SASE", "Cloud Backup",
    "Zero Trust", "Routing", "Email Security", "SIEM", "Observability", "Storage", "Edge Compute",
    "Unified Comms", "Identity",
]
# fmt: on

PROGRAM_KINDS = [("spiff", 30), ("rebate", 25), ("points", 15), ("behaviour", 15), ("mdf", 15)]
KIND_LABELS = {
    "spiff": "SPIFF",
    "rebate": "Rebate",
    "points": "Points",
    "behaviour": "Behaviour Reward",
    "mdf": "MDF",
}
PROGRAM_STATUSES = [("active", 55), ("draft", 10), ("paused", 10), ("closed", 25)]
ENROLLMENT_MODES = [("open", 50), ("invitation", 30), ("automatic", 20)]
ENROLLMENT_STATUSES = [
    ("enrolled", 55),
    ("invited", 15),
    ("reaccept", 8),
    ("declined", 12),
    ("withdrawn", 10),
]


def eligibility_variants(tier_ids: dict[str, int]) -> list[tuple[dict, int]]:
    """Eligibility rules and how often each occurs: a third open to everyone, the rest by tier,
    type, region, stage or a combination."""
    gold_up = [tier_ids["Gold"], tier_ids["Platinum"]]
    silver_up = [tier_ids["Silver"], *gold_up]
    return [
        ({}, 30),
        ({"tiers": gold_up}, 10),
        ({"tiers": silver_up}, 6),
        ({"tiers": [tier_ids["Platinum"]]}, 4),
        ({"types": ["reseller", "var"]}, 8),
        ({"types": ["msp"]}, 4),
        ({"types": ["distributor"]}, 2),
        ({"types": ["msp", "reseller", "var"]}, 4),
        ({"regions": ["EMEA"]}, 5),
        ({"regions": ["North America"]}, 4),
        ({"regions": ["APAC", "LATAM"]}, 3),
        ({"stages": ["new"]}, 5),
        ({"stages": ["developing", "established"]}, 5),
        ({"tiers": gold_up, "regions": ["North America"]}, 4),
        ({"types": ["reseller", "var"], "stages": ["established"]}, 3),
        ({"segments": ["achiever", "believer"], "tiers": silver_up}, 3),
    ]
