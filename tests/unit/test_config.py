import pytest

from execd.config import Settings, load_settings
from execd.errors import ConfigError


def test_defaults_ini_then_environment(tmp_path):
    ini = tmp_path / "execd.ini"
    ini.write_text("[execd]\nmax_memory = 128\nmax_execution_time = 5\n")
    s = load_settings(str(ini), environ={"MAX_EXECUTION_TIME": "2.5"})
    assert s.max_memory == 128 and s.max_execution_time == 2.5 and s.max_code_bytes == 65536


def test_every_field_has_a_description():
    assert all(Settings().describe().values())


@pytest.mark.parametrize("environ,needle", [
    ({"MAX_MEMORY": "lots"}, "environment variable MAX_MEMORY"),
    ({"MAX_MEMORY": "0"}, "MAX_MEMORY"),
    ({"POOL_SIZES": "python=-1"}, "pool_sizes"),
    ({"POOL_SIZES": "python"}, "pool_sizes"),
    ({"MAX_EXECUTION_TIME": "nan"}, "MAX_EXECUTION_TIME"),
    ({"LOG_LEVEL": "loud"}, "log_level"),
])
def test_bad_values_name_the_key(environ, needle):
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ=environ)
    assert needle in info.value.message


def test_bad_ini_names_file_and_key(tmp_path):
    ini = tmp_path / "execd.ini"
    ini.write_text("[execd]\nmax_memroy = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(str(ini), environ={})
    assert "max_memroy" in info.value.message and str(ini) in info.value.message
    ini.write_text("[execd]\nmax_test_cases = many\n")
    with pytest.raises(ConfigError) as info:
        load_settings(str(ini), environ={})
    assert "max_test_cases" in info.value.message


def test_shipped_config_loads():
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "config" / "execd.ini"
    assert load_settings(str(path), environ={}).max_memory == 256
