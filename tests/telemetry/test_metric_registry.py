"""The registry of one edge node's BIRTH definitions (twin.telemetry.metric_registry), on its own: the alias rule of
the spec (tck-id-payloads-alias-uniqueness), a DBIRTH replacing its device's definitions, the caps, and what is kept
across sessions. The tracker's behaviour on the wire is tested in test_node_tracker.py and test_host_*.py."""

from __future__ import annotations

from twin.telemetry.metric_registry import MetricRegistry
from twin.telemetry.metric_state import Delivered
from twin_edge.sparkplug import DataType

DOUBLE = DataType.DOUBLE


def _registry(max_devices: int = 10, max_metrics: int = 100) -> MetricRegistry:
    return MetricRegistry(max_devices=max_devices, max_metrics=max_metrics)


def test_an_alias_another_metric_holds_is_refused_and_the_metric_kept_by_name():
    reg = _registry()
    first, refusal = reg.register(None, "a", DOUBLE, 7)
    assert first is not None
    assert refusal is None
    assert reg.open_device("pot-1")
    second, refusal = reg.register("pot-1", "b", DOUBLE, 7)
    assert refusal is not None
    assert refusal.reason == "duplicate_alias"
    assert "alias 7" in refusal.detail
    assert second is not None
    assert second.alias is None
    assert reg.by_alias(7) is first  # the first holder keeps its alias
    assert reg.by_name("pot-1", "b") is second
    assert reg.alias_refused("pot-1", 7)
    assert not reg.alias_refused(None, 7)


def test_a_new_dbirth_replaces_what_the_device_registered_before():
    reg = _registry()
    assert reg.open_device("pot-1")
    reg.register("pot-1", "old", DOUBLE, 3)
    assert reg.open_device("pot-1")
    assert reg.by_name("pot-1", "old") is None
    assert reg.by_alias(3) is None
    new, _ = reg.register("pot-1", "new", DOUBLE, 3)  # the alias is free again
    assert reg.by_alias(3) is new
    assert reg.device_count() == 1


def test_a_device_beyond_the_cap_is_refused_and_changes_nothing():
    reg = _registry(max_devices=2)
    for device in ("pot-1", "pot-2"):
        assert reg.open_device(device)
        reg.register(device, "v", DOUBLE, None)
    assert not reg.open_device("pot-3")
    assert reg.device_count() == 2
    assert reg.open_device("pot-2")  # a device already counted may be re-born


def test_a_definition_beyond_the_cap_is_refused():
    reg = _registry(max_metrics=2)
    assert reg.register(None, "a", DOUBLE, None)[0] is not None
    assert reg.register(None, "b", DOUBLE, None)[0] is not None
    info, refusal = reg.register(None, "c", DOUBLE, None)
    assert info is None
    assert refusal is not None
    assert refusal.reason == "metrics_refused"
    assert reg.register(None, "a", DOUBLE, None)[0] is not None  # a redefinition is not one more


def test_a_new_session_keeps_the_duplicate_window_of_recent_metrics_only():
    reg = _registry()
    recent, _ = reg.register(None, "recent", DOUBLE, 1)
    old, _ = reg.register(None, "old", DOUBLE, 2)
    assert recent.delivered.first(100_000, 60_000)
    assert old.delivered.first(1_000, 60_000)
    reg.note_last(recent, 1.5)
    reg.new_session(now_ms=110_000, duplicate_window_ms=60_000)
    assert reg.by_name(None, "recent") is None
    assert reg.by_alias(1) is None
    again, _ = reg.register(None, "recent", DOUBLE, 1)
    assert not again.delivered.first(100_000, 60_000)  # a replay of the last session is still a duplicate
    fresh, _ = reg.register(None, "old", DOUBLE, 2)
    assert fresh.delivered.first(1_000, 60_000)  # out of the window: forgotten
    assert list(reg.stale_values(None, whole_node=True)) == [(None, "recent", 1.5), (None, "old", None)]


def test_stale_values_are_the_devices_leaf_metrics_with_their_last_values():
    reg = _registry()
    node_metric, _ = reg.register(None, "n", DOUBLE, None)
    assert reg.open_device("pot-1")
    assert reg.open_device("pot-2")
    leaf, _ = reg.register("pot-1", "v", DOUBLE, None)
    reg.register("pot-1", "udt", DataType.TEMPLATE, None)
    reg.register("pot-2", "w", DOUBLE, None)
    reg.note_last(leaf, 4.2)
    assert list(reg.stale_values("pot-1")) == [("pot-1", "v", 4.2)]
    everything = {(d, n) for d, n, _ in reg.stale_values(None, whole_node=True)}
    assert everything == {(None, "n"), ("pot-1", "v"), ("pot-2", "w")}
    assert node_metric is not None


def test_duplicate_windows_of_unregistered_metrics_are_bounded():
    reg = _registry(max_metrics=3)
    assert reg.open_device("pot-1")
    for k in range(50):  # a device re-born under ever new names within one session
        assert reg.open_device("pot-1")
        info, _ = reg.register("pot-1", f"m{k}", DOUBLE, None)
        assert info is not None
        assert info.delivered.first(k, 60_000)
    assert reg.open_device("pot-1")
    again, _ = reg.register("pot-1", "m0", DOUBLE, None)
    assert again is not None
    assert again.delivered.first(0, 60_000)
    kept, _ = reg.register("pot-1", "m49", DOUBLE, None)
    assert kept is not None
    assert not kept.delivered.first(49, 60_000)


def test_a_backfill_behind_live_data_is_delivered_but_not_held():
    """Store-and-forward history older than the duplicate window behind the newest stamp is delivered, and not
    held in memory (it was, until the live stamps in front of it aged out: ~0.4 GB for a 2 M point backfill)."""
    delivered = Delivered()
    window = 120_000
    live = 10_000_000
    assert delivered.first(live, window)
    backfill = range(live - 3_600_000, live - window, 1000)  # the hour before, one point a second
    assert all(delivered.first(ts, window) for ts in backfill)
    assert len(delivered.stamps) == 1
    assert delivered.first(live - 5_000, window)  # inside the window: remembered, so its replay is a duplicate
    assert not delivered.first(live - 5_000, window)
    assert not delivered.first(live, window)
