"""Config and tag-map validation, and the command line's one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from twin_edge.config import load_config
from twin_edge.errors import ConfigError
from twin_edge.registers import Encoding
from twin_edge.simplc.layout import write_tag_map
from twin_edge.sparkplug import DataType
from twin_edge.testing_pki import make_pki

GOOD = """
tag_map = "tags.toml"
[mqtt]
host = "127.0.0.1"
port = 1883
[sparkplug]
group_id = "potline1"
edge_node_id = "gw01"
primary_host_id = "twin"
[poll]
period_s = 1.0
[store]
path = "state/gw01.sqlite"
"""


def _write(tmp_path: Path, config: str = GOOD, tags: str | None = None) -> Path:
    if tags is None:
        write_tag_map(tmp_path / "tags.toml", pots=2, host="127.0.0.1", first_port=15020)
    else:
        (tmp_path / "tags.toml").write_text(tags)
    path = tmp_path / "gw.toml"
    path.write_text(config)
    return path


def test_good_config_and_generated_tag_map_load(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path))
    assert (cfg.group_id, cfg.edge_node_id, cfg.primary_host_id, cfg.poll_period_s) == ("potline1", "gw01", "twin", 1.0)
    assert cfg.store_path == tmp_path / "state/gw01.sqlite"
    devices = cfg.tag_map.devices
    assert [d.device_id for d in devices] == ["pot_001", "pot_002"]
    assert devices[1].port == 15021
    voltage = devices[0].tags[0]
    assert (voltage.metric, voltage.encoding, voltage.datatype) == ("cell_voltage_V", Encoding.FLOAT32, DataType.FLOAT)
    assert devices[0].register_span == (0, 13)


@pytest.mark.parametrize(
    ("edit", "field", "value"),
    [
        (("port = 1883", "port = 70000"), "mqtt.port", "70000"),
        (('group_id = "potline1"', 'group_id = "pot/line"'), "sparkplug.group_id", "'pot/line'"),
        (("period_s = 1.0", "period_s = -1"), "poll.period_s", "-1"),
        (("period_s = 1.0", "period_s = 1e-9"), "poll.period_s", "1e-09"),
        (("period_s = 1.0", "period_s = 1.0\ntimeout_s = inf"), "poll.timeout_s", "inf"),
        (("period_s = 1.0", "period_s = 1.0\ntimeout_s = 1e-9"), "poll.timeout_s", "1e-09"),
        (('path = "state/gw01.sqlite"', 'path = "state/gw01.sqlite"\nresend_window_s = inf'), "store.resend_window_s",
         "inf"),
        (('edge_node_id = "gw01"', "edge_node_id = 5"), "sparkplug.edge_node_id", "5"),
    ],
)
def test_bad_config_field_is_named_with_value_and_valid_range(
    tmp_path: Path, edit: tuple[str, str], field: str, value: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert field in message
    assert value in message
    assert "expected" in message


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        (
            '[[devices]]\nid = "p1"\nhost = "h"\nport = 1\ntags = [{ metric = "v", register = 0, datatype = "Flaot" }]',
            "devices[0].tags[0].datatype",
        ),
        (
            '[[devices]]\nid = "p1"\nhost = "h"\nport = 1\ntags = [{ metric = "v", register = 0, datatype = "Float",'
            ' encoding = "float64" }]',
            "devices[0].tags[0].encoding",
        ),
        ('[[devices]]\nid = "p1"\nhost = "h"\nport = 1\ntemplate = "nope"', "devices[0].template"),
        (
            '[[devices]]\nid = "p+1"\nhost = "h"\nport = 1\n'
            'tags = [{ metric = "v", register = 0, datatype = "Float" }]',
            "devices[0].id",
        ),
        (
            '[[devices]]\nid = "p1"\nhost = "h"\nport = 1\ntags = [{ metric = "v", register = 0, datatype = "Float",'
            " deadband = -1 }]",
            "devices[0].tags[0].deadband",
        ),
        # accepted before 2026-12-07: NaN readings (scale nan), every reading the offset and a write's raw value
        # 0 (scale 0), nothing reported after the first value (deadband inf, and nan passed `< 0`)
        *(
            (
                '[[devices]]\nid = "p1"\nhost = "h"\nport = 1\ntags = [{ metric = "v", register = 0, '
                f'datatype = "Float", {key} = {value} }}]',
                f"devices[0].tags[0].{key} = {shown} is invalid",
            )
            for key, value, shown in (("scale", "nan", "nan"), ("scale", "0", "0"), ("offset", "inf", "inf"),
                                      ("deadband", "inf", "inf"), ("deadband", "nan", "nan"))
        ),
        ("devices = []", "devices"),
    ],
)
def test_bad_tag_map_field_is_named(tmp_path: Path, tags: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, tags=tags))
    assert "tags.toml" in str(err.value)
    assert field in str(err.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twin_edge.cli", *args], capture_output=True, text=True, timeout=60)


def test_cli_reports_bad_config_in_one_line_without_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("port = 1883", 'port = "x"'))
    result = _cli("--config", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "Traceback" not in result.stderr
    assert str(path) in lines[0]
    assert "mqtt.port" in lines[0]
    assert "'x'" in lines[0]


def test_cli_reports_missing_config_file(tmp_path: Path) -> None:
    result = _cli("--config", str(tmp_path / "missing.toml"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing.toml" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--pots", "0"), "--pots = 0 is invalid"),
        (("--pots", "5000"), "--pots = 5000 is invalid; expected an integer in [1, 1000]"),  # 5000 servers before
        (("--pots", "1", "--update-period", "0"), "--update-period = 0.0 is invalid; expected seconds in [0.01, 60]"),
        (("--pots", "1", "--update-period", "nan"), "--update-period = nan is invalid"),
    ],
)
def test_cli_simplc_rejects_bad_values(args: tuple[str, ...], message: str) -> None:
    result = _cli("simplc", *args, "--port", "15020")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("edit", "key", "known"),
    [
        (("[mqtt]\n", '[mqtt]\npasword = "s3cret"\n'), "key mqtt.pasword", "password"),
        (("[poll]\n", "[poll]\nperiod = 2\n"), "key poll.period", "period_s"),
        (("[store]\n", "[stroe]\n"), "section [stroe]", "store"),
        (("[mqtt]\n", '[mqtt.tls]\nca = "x"\n[mqtt]\n'), "key mqtt.tls.ca", "ca_file"),
    ],
)
def test_unknown_config_keys_are_refused_with_file_key_and_known_keys(
    tmp_path: Path, edit: tuple[str, str], key: str, known: str
) -> None:
    """Issue 9 item 5: a typo such as ``pasword`` used to be ignored (and the gateway connected without it)."""
    path = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert f"unknown {key}" in message
    assert known in message


def test_unknown_tag_map_keys_are_refused(tmp_path: Path) -> None:
    tags = '[[devices]]\nid = "p1"\nhost = "h"\nport = 1\nunti = 3\ntags = [{ metric = "v", register = 0 }]'
    expected = r"tags.toml: unknown key devices\[0\]\.unti \(did you mean devices\[0\]\.unit\?\); known: .*unit"
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, tags=tags))


def test_mqtt_security_settings_load(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", clients=("gw",))
    (tmp_path / "ca.pem").write_bytes(pki.ca.read_bytes())
    for suffix in ("crt", "key"):
        (tmp_path / f"gw.{suffix}").write_bytes((tmp_path / "pki" / f"gw.{suffix}").read_bytes())
    (tmp_path / "secret").write_text("s3cret\n")
    security = (
        'port = 1883\nusername = "gw01"\npassword_file = "secret"\n'
        '[mqtt.tls]\nca_file = "ca.pem"\ncert_file = "gw.crt"\nkey_file = "gw.key"\ncheck_hostname = false\n'
    )
    cfg = load_config(_write(tmp_path, GOOD.replace("port = 1883\n", security)))
    assert (cfg.mqtt.username, cfg.mqtt.password) == ("gw01", "s3cret")
    assert cfg.mqtt.tls is not None
    assert (cfg.mqtt.tls.ca_file, cfg.mqtt.tls.check_hostname) == (tmp_path / "ca.pem", False)
    assert "s3cret" not in repr(cfg.mqtt)
    plain_tls = load_config(_write(tmp_path, GOOD.replace("[mqtt]\n", "[mqtt]\ntls = true\n")))
    assert plain_tls.mqtt.tls is not None
    assert plain_tls.mqtt.tls.ca_file is None  # the system's CAs, host name checked
    assert plain_tls.mqtt.tls.check_hostname


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("[mqtt]\n", '[mqtt]\ntls = "yes"\n'), "mqtt.tls"),
        (("[mqtt]\n", '[mqtt.tls]\nca_file = "missing.pem"\n[mqtt]\n'), "mqtt.tls.ca_file"),
        (("[mqtt]\n", '[mqtt]\npassword = "p"\n'), "mqtt.username"),
        (("[mqtt]\n", '[mqtt]\nusername = "u"\npassword_file = "nope"\n'), "mqtt.password_file"),
        (("[mqtt]\n", '[mqtt.tls]\nca_file = "gw.toml"\n[mqtt]\n'), "cannot load"),
    ],
)
def test_bad_mqtt_security_settings_are_named(tmp_path: Path, edit: tuple[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, GOOD.replace(*edit)))
    assert field in str(err.value)
