"""A generated scenario for benchmarks: N devices over 150 days, every policy feature on."""

from __future__ import annotations

from typing import Any

DAYS = 150


def bench_scenario(devices: int, seed: int = 1) -> dict[str, Any]:
    """A scenario mapping with `devices` expected activations per replication.

    Two banned regions and two others, grey imports and travellers, majority detection, a
    trickle and a surge window with look-back, a lift, and appeals: the engine's full path.
    """
    per_day = devices / DAYS
    regions = [
        ("CU", "Cuba", 0.40, {"grey_import": 0.85, "traveller": 0.15}, "US"),
        ("IR", "Iran", 0.30, {"grey_import": 0.9, "traveller": 0.1}, "TR"),
        ("RU", "Russia", 0.20, {"official": 1.0}, None),
        ("DE", "Germany", 0.10, {"official": 0.95, "traveller": 0.05}, "CU"),
    ]
    return {
        "name": f"bench-{devices}",
        "start": "2021-05-01",
        "end": "2021-09-28",
        "seed": seed,
        "replications": 1,
        "checkin": {
            "model": "periodic",
            "interval_days": 1.0,
            "jitter_days": 0.2,
            "offline_rate_per_day": 0.05,
            "offline_mean_days": 2.0,
        },
        "regions": [
            {
                "id": rid,
                "name": name,
                "activations": [{"from": "2021-05-01", "rate_per_day": per_day * share}],
                "channels": channels,
                **({"travellers_from": home} if home else {}),
                "signals": {
                    "local_sim_share": 0.9,
                    "sim_otherwise": "RU",
                    "vpn_share": 0.2,
                    "vpn_exit": "NL",
                    "location_share": 0.5,
                },
            }
            for rid, name, share, channels, home in regions
        ],
        "policy": {
            "banned": ["CU", "IR"],
            "detection": {"signals": ["sim", "ip", "gps"], "rule": "majority"},
            "lock_delay": {"distribution": "lognormal", "median_days": 4, "sigma": 0.5},
            "windows": [
                {"name": "trickle", "start": "2021-05-15", "end": "2021-09-01", "coverage": 0.05},
                {
                    "name": "surge",
                    "start": "2021-09-01",
                    "end": "2021-09-14",
                    "coverage": 0.6,
                    "lookback_days": 30,
                },
            ],
            "lift": {"date": "2021-09-14", "unlock": True},
            "appeals": {
                "share": 0.3,
                "delay": {"distribution": "exponential", "mean_days": 1.0},
                "agents": 20,
                "service_days": 0.2,
                "approval_share": 0.7,
            },
        },
    }
