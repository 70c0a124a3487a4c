"""Names checked by a ``^…$`` pattern with ``re.match`` let a trailing newline through (``$`` also matches before
a final ``\\n``): ``check_tag("cell:1-017/voltage_V\\n")`` returned the tag unchanged, so a second tag that prints
like the first could be stored. Every check now matches the whole string."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin.errors import TwinError
from twin.live.setpoint_alarms import _asset
from twin.store import Store
from twin.store import validate as v


@pytest.mark.parametrize(
    ("check", "good"),
    [(v.check_tag, "cell:1-017/voltage_V"), (v.check_scope, "potline:1"), (v.check_scope, "cell:1-017")],
)
def test_a_trailing_newline_is_refused_by_the_name_checks(check, good: str) -> None:
    assert check(good) == good
    for bad in (good + "\n", good + "\r\n", "\n" + good):
        with pytest.raises(TwinError, match="invalid"):
            check(bad)


def test_the_store_refuses_a_tag_or_alarm_id_with_a_trailing_newline(store: Store) -> None:
    with pytest.raises(TwinError, match="tag"):
        store.register_tags(["cell:1-017/voltage_V\n"])
    with pytest.raises(TwinError, match="alarm_id"):
        store.acknowledge_alarm("a-17\n", "operator", datetime(2026, 12, 6, tzinfo=UTC))
    assert store.acknowledge_alarm("a-17", "operator", datetime(2026, 12, 6, tzinfo=UTC)).alarm_id == "a-17"


def test_a_device_name_with_a_trailing_newline_is_not_a_pot() -> None:
    """A setpoint alarm's asset: ``pot_017`` is cell 1-017, ``pot_017\\n`` is no pot (the line's asset)."""
    assert _asset("potline1", "pot_017") == ("1", 17, "cell:1-017")
    assert _asset("potline1", "pot_017\n") == ("1", None, "potline:1")
