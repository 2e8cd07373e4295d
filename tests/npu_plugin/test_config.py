"""The Ethos-U target read from GOSSAMER_ETHOSU_*: defaults, validation, the clock."""

from __future__ import annotations

import pytest
from gossamer.npu_plugin.config import CLOCKED_SYSTEM, EthosUConfigError, config_from_env
from gossamer.npu_plugin.vela_runner import check_config

import gossamer


def test_default_target_is_a_u55_128_high_end_embedded_system():
    config = config_from_env({})
    assert (config.accelerator, config.system_config, config.memory_mode) == (
        "ethos-u55-128",
        "Ethos_U55_High_End_Embedded",
        "Shared_Sram",
    )
    assert config.clock_hz is None and config.min_partition_size == 1


def test_a_u65_gets_a_u65_system_and_dedicated_sram():
    config = config_from_env({"GOSSAMER_ETHOSU_ACCELERATOR": "ethos-u65-256"})
    assert (config.system_config, config.memory_mode) == ("Ethos_U65_High_End", "Dedicated_Sram")
    check_config(config)  # both exist in Vela's vela.ini


@pytest.mark.parametrize("text, hz", [("400MHz", 4e8), ("1e9", 1e9), ("1.5 GHz", 1.5e9)])
def test_clock_accepts_hz_and_units(text, hz):
    assert config_from_env({"GOSSAMER_ETHOSU_CLOCK": text}).clock_hz == hz


def test_a_clock_makes_a_system_config_inheriting_the_chosen_one():
    config = config_from_env({"GOSSAMER_ETHOSU_CLOCK": "250MHz"})
    ini = config.ini_text("[System_Config.Ethos_U55_High_End_Embedded]\ncore_clock=500e6\n")
    assert f"[System_Config.{CLOCKED_SYSTEM}]" in ini
    assert (
        "inherit=System_Config.Ethos_U55_High_End_Embedded" in ini and "core_clock=2.5e+08" in ini
    )
    assert config.vela_args()[3] == CLOCKED_SYSTEM


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("ACCELERATOR", "ethos-u99-1", "ethos-u55-128"),
        ("CLOCK", "fast", "between 1 MHz"),
        ("MIN_PARTITION", "0", "whole number"),
    ],
)
def test_bad_settings_are_input_errors_naming_the_variable(name, value, says):
    with pytest.raises(EthosUConfigError, match=f"GOSSAMER_ETHOSU_{name}") as info:
        config_from_env({f"GOSSAMER_ETHOSU_{name}": value})
    assert says in str(info.value)
    assert isinstance(info.value, gossamer.InputError)


def test_unknown_system_config_lists_the_known_ones():
    config = config_from_env({"GOSSAMER_ETHOSU_SYSTEM_CONFIG": "My_Board"})
    with pytest.raises(EthosUConfigError, match="Ethos_U55_Deep_Embedded"):
        check_config(config)


def test_target_key_changes_with_every_setting():
    keys = {
        config_from_env(env).key()
        for env in (
            {},
            {"GOSSAMER_ETHOSU_ACCELERATOR": "ethos-u55-256"},
            {"GOSSAMER_ETHOSU_MEMORY_MODE": "Sram_Only"},
            {"GOSSAMER_ETHOSU_CLOCK": "400MHz"},
        )
    }
    assert len(keys) == 4


def test_deploy_options_override_the_environment():
    from gossamer.npu_plugin.config import config_from_options

    env = {"GOSSAMER_ETHOSU_ACCELERATOR": "ethos-u55-64", "GOSSAMER_ETHOSU_CLOCK": "200MHz"}
    assert config_from_options({}, env) == config_from_env(env)
    config = config_from_options({"accelerator": "ethos-u65-512"}, env)
    assert (config.accelerator, config.system_config, config.memory_mode) == (
        "ethos-u65-512",
        "Ethos_U65_High_End",  # the new family's defaults, not the environment's
        "Dedicated_Sram",
    )
    assert config.clock_hz == 2e8  # unset options keep the environment's value
    config = config_from_options({"memory_mode": "Sram_Only", "clock": "1GHz"}, env)
    assert (config.accelerator, config.memory_mode, config.clock_hz) == (
        "ethos-u55-64",
        "Sram_Only",
        1e9,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accelerator": "u55"}, "ethos-u option accelerator='u55' is not an Ethos-U"),
        (
            {"system_config": "Nope"},
            "ethos-u option system_config='Nope' is not in Vela's vela.ini",
        ),
        ({"clock": "7"}, "ethos-u option clock='7'"),
        ({"speed": "max"}, "unknown ethos-u option(s) speed"),
    ],
)
def test_bad_deploy_options_name_the_option(options, message):
    from gossamer.npu_plugin.deploy import target_config

    with pytest.raises(EthosUConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        target_config(options)  # vela.ini is checked too


def test_a_bad_variable_under_good_options_is_named_as_the_variable(monkeypatch):
    from gossamer.npu_plugin.deploy import target_config

    monkeypatch.setenv("GOSSAMER_ETHOSU_MEMORY_MODE", "Nowhere")
    with pytest.raises(EthosUConfigError, match="^GOSSAMER_ETHOSU_MEMORY_MODE='Nowhere' is not"):
        target_config({"clock": "400MHz"})
