"""One loader for the service's settings files (twin_edge.configfile): unknown sections and keys, wrong
types and refused values each give one line naming the file, the key, the value and what is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import TwinError
from twin.service.config import load_service_config


def load(tmp_path: Path, text: str):
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    return path, lambda: load_service_config(path)


@pytest.mark.parametrize(("text", "message"), [
    ('[mqtt]\npasword = "x"\n', "unknown key mqtt.pasword (did you mean mqtt.password?); known: client_id, host, "
                                  "keepalive_s, password,"),
    ('[store]\nurl = 5\n', "store.url = 5 is invalid; expected a value of type str"),
    ("[live]\nspeed = -1\n", "live.speed = -1 is invalid; expected plant seconds per wall second, a number in "
                            "(0, 3600]"),
    ("[live]\nspeed = true\n", "live.speed = True is invalid; expected plant seconds per wall second"),
    ("[live]\nspeed = inf\n", "live.speed = inf is invalid; expected plant seconds per wall second"),
    ("[live]\nspeed = 3601\n", "live.speed = 3601 is invalid; expected plant seconds per wall second"),
    ('[live]\ntechnology = "models/no-such.toml"\n', "live.technology = 'models/no-such.toml' is invalid; expected "
                                                    "a technology file"),
    ('[sparkplug]\nhost_id = "#"\n', "sparkplug.host_id = '#' is invalid; expected a non-empty string without"),
    ('[live]\ntimezone = "Mars/Olympus"\n', "live.timezone = 'Mars/Olympus' is invalid; expected an IANA time zone"),
    ('[live]\ntimezone = "../../etc/passwd"\n', "live.timezone = '../../etc/passwd' is invalid; expected an IANA"),
    ("[scenarios]\nmax_horizon_h = 9000\n", "scenarios.max_horizon_h = 9000 is invalid; expected a number of hours"),
    ("[scenarios]\ncatalogue = \"no-such-dir\"\n", "scenarios.catalogue = "),
    ('[live]\npower_plant = "no-such-plant.toml"\n', "live.power_plant = 'no-such-plant.toml' is invalid; expected a "
                                                  "plant file"),
    ('[live]\npower_plant = "."\n', "live.power_plant = '.' is invalid; expected a plant file"),
    ("[live]\nfilter_threads = 0\n", "live.filter_threads = 0 is invalid; expected an integer in [1, 8]"),
    ('[live.potlines]\n"potline1\\n" = 24\n',
     "live.potlines.'potline1\\n' = 'potline1\\n' is invalid; expected a Sparkplug"),
    ("[live]\nfilter_threads = 2.0\n", "live.filter_threads = 2.0 is invalid; expected an integer in [1, 8]"),
    ("[live]\nfilter_threads = true\n", "live.filter_threads = True is invalid; expected an integer in [1, 8]"),
    ('tls = true\n', "unknown key tls; known: [store], [mqtt], [sparkplug], [live], [scenarios], [api]"),
    ('mqtt = "localhost"\n', "[mqtt] = 'localhost' is invalid; expected a table"),
    ('[mqtt]\nport = 0\n', "mqtt.port = 0 is invalid; expected a TCP port in [1, 65535]"),
    ('[mqtt]\npassword = "x"\n', "mqtt.username = None is invalid; expected a user name when a password is given"),
    ('[mqtt]\ntls = "yes"\n', "mqtt.tls = 'yes' is invalid; expected true, false or a table [mqtt.tls]"),
    ('[mqtt.tls]\nca = "x"\n', "unknown key mqtt.tls.ca; known: ca_file, cert_file"),
    ('[mqtt.tls]\nca_file = "missing.pem"\n', "mqtt.tls.ca_file = 'missing.pem' is invalid; expected an existing"),
    ("[api]\nopen_acess = true\n", "unknown key api.open_acess (did you mean api.open_access?)"),
])
def test_every_bad_setting_is_one_line_naming_file_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    path, call = load(tmp_path, text)
    with pytest.raises(TwinError) as err:
        call()
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_complete_file_loads(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    _, call = load(tmp_path, '[store]\nurl = "duckdb://:memory:"\n[mqtt]\nhost = "broker"\nport = 8883\n'
                             '[sparkplug]\nhost_id = "scada"\n[live]\nspeed = 2\ntimezone = "Asia/Shanghai"\n'
                             'filter_threads = 2\npotlines = { potline3 = 40 }\n'
                             '[scenarios]\ncatalogue = "site"\nmax_horizon_h = 48\n[api]\njob_workers = 3\n')
    config = call()
    assert (config.broker_host, config.broker_port, config.host_id) == ("broker", 8883, "scada")
    assert config.speed == 2.0
    assert config.timezone == "Asia/Shanghai"
    assert config.potlines == {"potline3": 40}
    assert config.filter_threads == 2
    assert config.catalogue == str(tmp_path / "site")
    assert config.max_horizon_h == 48.0
    assert config.api.job_workers == 3


def test_power_plant_is_read_relative_to_the_settings_file_and_loads(tmp_path: Path) -> None:
    """``twin serve`` lists the power side as assets only when it knows the plant file (issue 11 item 4)."""
    from twin.params import load_plant

    shipped = Path(__file__).resolve().parents[2] / "models"
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "plant.toml").write_text(
        (shipped / "plant_small.toml").read_text().replace('technology = "', f'technology = "{shipped}/'))
    _, call = load(tmp_path, '[live]\npower_plant = "site/plant.toml"\n')
    config = call()
    assert config.power_plant == str(tmp_path / "site" / "plant.toml")
    assert load_plant(config.power_plant).coal_units  # the chain loads it the same way (twin.service.chain)
