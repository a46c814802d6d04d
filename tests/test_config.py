from pathlib import Path

import pytest

from semkit import config
from semkit.errors import ConfigError


def test_precedence_default_file_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SEMKIT_OPENAI_MAX_RETRIES", raising=False)
    assert config.get("openai_max_retries") == 6
    Path(config.config_file()).write_text("openai_max_retries = 3\n")
    assert config.get("openai_max_retries") == 3
    monkeypatch.setenv("SEMKIT_OPENAI_MAX_RETRIES", "9")
    assert config.get("openai_max_retries") == 9


def test_bad_values_and_unknown_settings_are_clear_errors(monkeypatch):
    monkeypatch.setenv("SEMKIT_OPENAI_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="SEMKIT_OPENAI_TIMEOUT"):
        config.get("openai_timeout")
    Path(config.config_file()).write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        config.get("model")


def test_every_setting_is_documented():
    for setting in config.SETTINGS:
        assert setting.help and setting.env


def test_the_readme_settings_table_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings") :]
    for setting in config.SETTINGS:
        assert f"| {setting.name} | `{setting.env}` |" in table, setting.name
