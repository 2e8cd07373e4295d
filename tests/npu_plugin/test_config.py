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
