"""The isolation sweep's count of id fields tried per role, printed at the end of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

# --- the per-role tally, reported at the end of the run ----------------------------------------


@dataclass
class Tally:
    """Id fields tried per role: sent, and how many got past the route's permission check."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, role: str, location: str, *, got_through: bool) -> None:
        row = self.counts.setdefault(role, {})
        row[f"{location}_sent"] = row.get(f"{location}_sent", 0) + 1
        key = f"{location}_reached"
        row[key] = row.get(key, 0) + int(got_through)

    def merge(self, counts: dict[str, dict[str, int]]) -> None:
        for role, row in counts.items():
            mine = self.counts.setdefault(role, {})
            for key, value in row.items():
                mine[key] = mine.get(key, 0) + value

    def lines(self) -> list[str]:
        columns = ["body_sent", "body_reached", "query_sent", "query_reached"]
        lines = [f"{'role':<18}" + "".join(f"{c:>15}" for c in columns)]
        for role in sorted(self.counts):
            row = self.counts[role]
            lines.append(f"{role:<18}" + "".join(f"{row.get(c, 0):>15}" for c in columns))
        return lines


# --- the Schemathesis run's requests per operation and status -----------------------------------


@dataclass
class ApiRunTally:
    """Requests the schema test made: per operation, per status class (2xx, 4xx, 5xx) and per
    Schemathesis phase (examples, coverage, fuzzing)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, operation: str, status: int, phase: str) -> None:
        row = self.counts.setdefault(operation, {})
        for key in (f"{status // 100}xx", str(phase)):
            row[key] = row.get(key, 0) + 1

    def merge(self, counts: dict[str, dict[str, int]]) -> None:
        for operation, row in counts.items():
            mine = self.counts.setdefault(operation, {})
            for key, value in row.items():
                mine[key] = mine.get(key, 0) + value

    def lines(self) -> list[str]:
        def total(key: str) -> int:
            return sum(row.get(key, 0) for row in self.counts.values())

        requests = sum(total(key) for key in STATUSES)
        return [
            f"{len(self.counts)} operations, {requests} requests: "
            + ", ".join(f"{total(key)} {key}" for key in STATUSES),
            "by phase: " + ", ".join(f"{total(key)} {key}" for key in PHASES),
        ]


STATUSES = ["2xx", "3xx", "4xx", "5xx"]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
