"""SSE with ?changes=true: the first event is the whole snapshot, later ones carry only what changed."""

from __future__ import annotations

import json

import httpx
from tests.api.plantstate import SyntheticPlant


def _events(client: httpx.Client, plant: SyntheticPlant, n: int) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    kind = ""
    with client.stream("GET", "/v1/stream/kpis", params={"max_events": n, "changes": "true"}) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                out.append((kind, json.loads(line[5:])))
                if len(out) < n:
                    plant.advance()
    return out


def test_later_events_carry_only_the_changes(client: httpx.Client, plant: SyntheticPlant) -> None:
    (k0, full), (k1, delta), (k2, delta2) = _events(client, plant, 3)
    assert k0 == "kpis"
    assert k1 == "kpis-changes"
    assert k2 == "kpis-changes"
    assert delta["changed"]["plant"]["metal_t_per_day"] == 3401.0
    assert delta2["changed"]["plant"]["metal_t_per_day"] == 3402.0
    assert "potline:2" not in delta["changed"]  # nothing of potline 2 moves in the synthetic plant
    assert "current_efficiency" not in delta["changed"]["potline:1"]
    assert delta["removed"] == {}
    # the first snapshot with both change sets applied is what /v1/kpis says now
    scopes = full["scopes"]
    for d in (delta, delta2):
        for scope, values in d["changed"].items():
            scopes.setdefault(scope, {}).update(values)
    now = client.get("/v1/kpis").json()
    assert scopes == now["scopes"]
    assert delta2["as_of"] == now["as_of"]
    assert len(json.dumps(delta)) < len(json.dumps(full)) / 2
