"""Launch keys read by the session itself (not through an engine)."""

from __future__ import annotations

import pytest

from dap_server.session.launch import LaunchError, parse_config, run_options


@pytest.mark.parametrize(("given", "seconds"), [("1h30m", 5400.0), (90, 90.0), ("0s", 0.0), ("300ms", 0.3)])
def test_timeout_is_seconds_or_a_go_duration(given: object, seconds: float) -> None:
    config = parse_config({"program": "x.yaml", "timeout": given})
    assert run_options(config).timeout == seconds


@pytest.mark.parametrize("given", ["ten", "5", "-1s"])
def test_a_bad_timeout_is_a_launch_error(given: str) -> None:
    with pytest.raises(LaunchError, match="timeout"):
        run_options(parse_config({"program": "x.yaml", "timeout": given}))
