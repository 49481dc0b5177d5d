"""Tokens from a file (issue 14, item 7, part): `--token-file` or `FTGATE_TOKEN_FILE`, so that no token
stands on a command line, where every local user can read it in `ps`."""

from __future__ import annotations

from pathlib import Path

from ftgate_testing import Cli, Home

from gateway.settings import REPO_ROOT


def test_a_token_file_stands_for_the_token(home: Home, tmp_path: Path) -> None:
    token_file = tmp_path / "carol.token"
    token_file.write_text(home.carol + "\n")
    token_file.chmod(0o600)
    # home.cli passes no token unless asked: only the file says who this is.
    assert home.cli("audit", "verify", "--token-file", str(token_file))["status"] == "verified"
    home.cli.env["FTGATE_TOKEN_FILE"] = str(token_file)
    try:
        assert home.cli("audit", "verify")["status"] == "verified"
    finally:
        del home.cli.env["FTGATE_TOKEN_FILE"]

    missing = home.cli("audit", "verify", "--token-file", str(tmp_path / "nope"), ok=False)
    assert (
        missing["error"]["code"] == "invalid_input"
        and "cannot read the token file" in missing["error"]["message"]
    )
    (tmp_path / "empty").write_text("\n")
    empty = home.cli("audit", "verify", "--token-file", str(tmp_path / "empty"), ok=False)
    assert "is empty" in empty["error"]["message"]
    none = home.cli("audit", "verify", ok=False)
    assert none["error"]["code"] == "unauthenticated" and "--token-file" in none["error"]["message"]
    (tmp_path / "wrong").write_text("ftg_not-a-token\n")
    assert home.cli("audit", "verify", "--token-file", str(tmp_path / "wrong"), ok=False)["error"][
        "code"
    ] == ("unauthenticated")


def test_new_tokens_go_to_owner_only_files_and_are_not_printed(tmp_path: Path) -> None:
    cli = Cli(env={"FTGATE_HOME": str(tmp_path / "home"), "FTGATE_POLICY_DIR": str(REPO_ROOT / "policies")})
    admin_file = tmp_path / "admin.token"
    made = cli("init", "--token-out", str(admin_file))
    assert "token" not in made and made["token_file"] == str(admin_file)
    assert admin_file.stat().st_mode & 0o077 == 0 and admin_file.read_text().startswith("ftg_")
    alice_file = tmp_path / "alice.token"
    added = cli("users", "add", "alice", "--role", "submitter", "--token-out", str(alice_file),
                "--token-file", str(admin_file))  # fmt: skip
    assert "token" not in added and alice_file.stat().st_mode & 0o077 == 0
    assert cli("datasets", "list", "--token-file", str(alice_file))["count"] == 0
    # A file that exists is refused before the user is made: a token is shown only once.
    taken = cli("users", "add", "bob", "--role", "approver", "--token-out", str(alice_file),
                "--token-file", str(admin_file), ok=False)  # fmt: skip
    assert taken["error"]["code"] == "invalid_input" and "already exists" in taken["error"]["message"]
    users = cli("users", "list", "--token-file", str(admin_file))["data"]
    assert [u["name"] for u in users] == ["admin", "alice"]
