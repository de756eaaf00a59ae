"""Issue 18: the local CLI passes the studio's access checks like a script would (Bearer token), so it works
against a config that requires the token, and says clearly what is missing when it cannot."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("exposure", [{"TUNEWRIGHT_HOST": "0.0.0.0"},
                                      {"TUNEWRIGHT_ENV": "production", "SECRET_KEY": "cli-test"}],
                         ids=["bound-beyond-loopback", "production"])
def test_sessions_list_with_the_token_against_a_config_that_requires_it(cli, exposure):
    cli.env.update(exposure, TUNEWRIGHT_TOKEN="cli-token")
    listed = cli.run("sessions", "list")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "0 session(s)" in listed.stdout
    assert "cli-token" not in listed.stdout + listed.stderr


@pytest.mark.parametrize("auth", ["single", "accounts"])
def test_without_a_token_the_local_cli_uses_its_own_configs(cli, auth):
    """Issue 19: bound beyond loopback with no token configured, the studio generates one; the local CLI is the
    same app in this process, so it reads that token from its own config (in accounts mode: the bootstrap
    credential, until the first account exists; tests/cli/test_cli_tokens.py covers what follows)."""
    cli.env.update(TUNEWRIGHT_HOST="0.0.0.0", TUNEWRIGHT_AUTH=auth)
    listed = cli.run("sessions", "list")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "0 session(s)" in listed.stdout


def test_a_wrong_token_option_is_named_and_the_right_one_works(cli):
    cli.env.update(TUNEWRIGHT_TOKEN="right-token")  # loopback: a configured token is enforced all the same
    wrong = cli.run("sessions", "list", "--token", "wrong-token")
    assert wrong.returncode == 1 and "--token" in wrong.stderr and "not the one" in wrong.stderr
    assert cli.run("sessions", "list", "--token", "right-token").returncode == 0
    assert cli.run("datasets", "list").returncode == 0  # TUNEWRIGHT_TOKEN alone
