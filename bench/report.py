"""The benchmark's verdict: targets checked against the record, and the tables printed at the end of a run."""

from __future__ import annotations

from typing import Any

from bench import roundtrips
from bench.profile import format_profile

# (figure, key in the summary, comparison, target)
TARGETS = (
    ("PUT throughput / ceiling", "put_ratio", ">=", 0.20),
    ("GET throughput / ceiling", "get_ratio", ">=", 0.35),
    ("PUT p99 at half of peak (ms)", "put_half_p99_ms", "<=", 5.0),
    ("GET p99 at half of peak (ms)", "get_half_p99_ms", "<=", 5.0),
    ("PUT p50, 1 000-position account (ms)", "k1000_put_p50_ms", "<=", 5.0),
    ("PUT at most accounts / at 1 000", "n_max_put_ratio", ">=", 0.80),
    ("GET at most accounts / at 1 000", "n_max_get_ratio", ">=", 0.80),
    ("PostgreSQL PUT (1 process) / SQLite PUT", "pg_put_vs_sqlite", ">=", 0.5),
)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def summarise(record: dict[str, Any]) -> dict[str, Any]:
    ceiling = record["ceiling"]
    ref = record["sqlite"]["reference"]
    ks = record["sqlite"]["positions_sweep"]
    ns = record["sqlite"]["accounts_sweep"]
    k_max = max(ks, key=lambda row: row["positions"])
    n_ref, n_max = ns[0], max(ns, key=lambda row: row["accounts"])
    values: dict[str, Any] = {
        "ceiling_put_rps": ceiling["put"]["rps"],
        "ceiling_get_rps": ceiling["get"]["rps"],
        "put_rps": ref["put"]["rps"],
        "get_rps": ref["get"]["rps"],
        "put_ratio": _ratio(ref["put"]["rps"], ceiling["put"]["rps"]),
        "get_ratio": _ratio(ref["get"]["rps"], ceiling["get"]["rps"]),
        "put_half_rate_rps": ref["put_half_rate"]["rps"],
        "put_half_p50_ms": ref["put_half_rate"]["p50_ms"],
        "put_half_p99_ms": ref["put_half_rate"]["p99_ms"],
        "get_half_rate_rps": ref["get_half_rate"]["rps"],
        "get_half_p50_ms": ref["get_half_rate"]["p50_ms"],
        "get_half_p99_ms": ref["get_half_rate"]["p99_ms"],
        "k_max": k_max["positions"],
        "k1000_put_p50_ms": k_max["put_one_connection"]["p50_ms"] if k_max["positions"] == 1000 else None,
        "k1000_put_rps": k_max["put"]["rps"] if k_max["positions"] == 1000 else None,
        "n_max": n_max["accounts"],
        "n_max_put_ratio": _ratio(n_max["put"]["rps"], n_ref["put"]["rps"]),
        "n_max_get_ratio": _ratio(n_max["get"]["rps"], n_ref["get"]["rps"]),
        "server_peak_rss_kb": max(row.get("peak_rss_kb", 0) for row in [*ks, *ns]),
        "all_runs_clean": _all_clean(record),
        "max_foreign_cpu_pct": max(_foreign(record), default=0.0),
    }
    pg = record.get("postgres")
    if pg:
        values["pg_put_rps"] = pg["reference"]["put"]["rps"]
        values["pg_put_vs_sqlite"] = _ratio(pg["reference"]["put"]["rps"], ref["put"]["rps"])
        values["pg_put_rps_2_processes"] = pg["two_processes"]["put"]["rps"]
        values["pg_put_rps_4_processes"] = pg.get("four_processes", {}).get("put", {}).get("rps")
        values["pg_remote_put_rps"] = {
            rtt: {n: row[n]["put"]["rps"] for n in row} for rtt, row in pg.get("remote", {}).items()
        }
    trips = record.get("round_trips")
    if trips:
        values["round_trips"] = {
            store: dict(kinds) for store, kinds in trips.items() if store in ("sqlite", "postgresql")
        }
    verdicts = {}
    for figure, key, op, target in TARGETS:
        value = values.get(key)
        met = None if value is None else (value >= target if op == ">=" else value <= target)
        verdicts[key] = {"figure": figure, "value": value, "target": f"{op} {target}", "met": met}
    values["targets"] = verdicts
    return values


def _all_clean(node: Any) -> bool:
    if isinstance(node, dict):
        if "clean" in node and node["clean"] is False:
            return False
        return all(_all_clean(v) for v in node.values())
    if isinstance(node, list):
        return all(_all_clean(v) for v in node)
    return True


def _foreign(node: Any) -> list[float]:
    """Every run's CPU use by other processes (% of one core)."""
    if isinstance(node, dict):
        own = [float(node["foreign_pct"])] if "foreign_pct" in node else []
        return own + [x for v in node.values() for x in _foreign(v)]
    if isinstance(node, list):
        return [x for v in node for x in _foreign(v)]
    return []


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    out = [
        "  " + "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    ]
    out.append("  " + "  ".join("-" * w for w in widths))
    for row in cells:
        out.append(
            "  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _mib(kb: int | None) -> str:
    return "–" if not kb else f"{kb / 1024:.0f} MiB"


def print_report(record: dict[str, Any]) -> None:
    s = record["summary"]
    ref = record["sqlite"]["reference"]
    print(f"\nlevpref benchmark {record['label']} ({record['elapsed_seconds']} s, {record['machine']['cpus']} cores)")
    print("\nTargets (single server process, SQLite, reference world N=1 000 accounts × K=1 position):")
    print(
        _table(
            ["figure", "value", "target", "met"],
            [[v["figure"], v["value"], v["target"], v["met"]] for v in s["targets"].values()],
        )
    )
    print("\nThroughput and latency (req/s; latency ms):")
    rows = [
        ["ceiling: ASGI hello world, PUT-shaped", record["ceiling"]["put"]["rps"], None, None, None],
        ["ceiling: ASGI hello world, GET-shaped", record["ceiling"]["get"]["rps"], None, None, None],
        [
            "PUT /leveragepreferences, peak",
            ref["put"]["rps"],
            s["put_ratio"],
            ref["put"]["p50_ms"],
            ref["put"]["p99_ms"],
        ],
        [
            "GET /leveragepreferences, peak",
            ref["get"]["rps"],
            s["get_ratio"],
            ref["get"]["p50_ms"],
            ref["get"]["p99_ms"],
        ],
    ]
    for key, name in (
        ("put_half_rate", "PUT at half of peak (wrk paced)"),
        ("get_half_rate", "GET at half of peak (wrk paced)"),
        ("get_half_rate_hey", "GET at half of peak (hey -q)"),
        ("put_one_connection", "PUT, one connection"),
    ):
        if key in ref:
            run = ref[key]
            rows.append([name, run["rps"], None, run["p50_ms"], run["p99_ms"]])
    if "put_synchronous_full" in ref:
        full = ref["put_synchronous_full"]
        rows.append(
            ["PUT peak, synchronous=FULL", full["put"]["rps"], None, full["put"]["p50_ms"], full["put"]["p99_ms"]]
        )
        one = full["put_one_connection"]
        rows.append(["PUT one connection, synchronous=FULL", one["rps"], None, one["p50_ms"], one["p99_ms"]])
    print(_table(["run", "req/s", "/ceiling", "p50", "p99"], rows))
    print(f"  all runs clean (every response a success, no socket error): {_cell(s['all_runs_clean'])}")
    print(f"  most CPU used by other processes during a run: {s['max_foreign_cpu_pct']:.0f}% of a core")

    print("\nPositions per account (N=1 000 accounts; PUT targets one of the account's K positions):")
    rows = [
        [
            row["positions"],
            row["put"]["rps"],
            row["put_one_connection"]["p50_ms"],
            row["put_one_connection"]["p99_ms"],
            _mib(row.get("peak_rss_kb")),
        ]
        for row in record["sqlite"]["positions_sweep"]
    ]
    print(_table(["K", "PUT req/s", "1-conn p50", "1-conn p99", "peak RSS"], rows))

    print("\nAccounts per database (K=1; each run visits a scattered sample, never the same account twice per round):")
    ns = record["sqlite"]["accounts_sweep"]
    base = ns[0]
    rows = [
        [
            row["accounts"],
            row.get("build", ref["build"])["seconds"],
            row["put"]["rps"],
            _ratio(row["put"]["rps"], base["put"]["rps"]),
            row["get"]["rps"],
            _ratio(row["get"]["rps"], base["get"]["rps"]),
            _mib(row.get("peak_rss_kb")),
        ]
        for row in ns
    ]
    print(_table(["N", "build s", "PUT req/s", "vs 1k", "GET req/s", "vs 1k", "peak RSS"], rows))

    sp = record["scenario_path"]
    print(
        f"\nWorld loading: {sp['accounts']:,} accounts via `levpref scenario load` {sp['scenario_load_seconds']} s "
        f"({sp['scenario_accounts_per_s']:,}/s), direct bulk insert {sp['direct_seconds']} s "
        f"({sp['direct_accounts_per_s']:,}/s)"
    )
    if "postgres" in record:
        pg = record["postgres"]["reference"]
        print("\nPostgreSQL (reference world, same runs):")
        rows = [
            [name, pg[key]["rps"], pg[key]["p50_ms"], pg[key]["p99_ms"]]
            for key, name in (
                ("put", "PUT peak"),
                ("get", "GET peak"),
                ("put_half_rate", "PUT at half of peak"),
                ("get_half_rate", "GET at half of peak"),
                ("put_one_connection", "PUT, one connection"),
            )
        ]
        two = record["postgres"].get("two_processes")
        if two:
            rows += [
                [f"{name}, 2 processes", two[key]["rps"], two[key]["p50_ms"], two[key]["p99_ms"]]
                for key, name in (("put", "PUT peak"), ("get", "GET peak"))
            ]
        four = record["postgres"].get("four_processes")
        if four:
            rows.append(["PUT peak, 4 processes", four["put"]["rps"], four["put"]["p50_ms"], four["put"]["p99_ms"]])
        for rtt, by_workers in record["postgres"].get("remote", {}).items():
            for workers, run in by_workers.items():
                put = run["put"]
                rows.append([f"PUT peak, {workers.replace('_', ' ')}, database {rtt}", put["rps"], put["p50_ms"],
                             put["p99_ms"]])  # fmt: skip
        print(_table(["run", "req/s", "p50", "p99"], rows))
        print(f"  peak RSS {_mib(pg.get('peak_rss_kb'))}")
    if "round_trips" in record:
        roundtrips.print_table(record["round_trips"])
    if "profile_put" in ref:
        print()
        print(format_profile("PUT profile (reference world)", ref["profile_put"], top=12))
    k_profiled = [row for row in record["sqlite"]["positions_sweep"] if "profile_put" in row]
    for row in k_profiled:
        print()
        print(format_profile(f"PUT profile (K={row['positions']})", row["profile_put"], top=8))
