"""Runs last (file order): the server's own log, at debug level, after the whole session of the suite."""

from conftest import OTHER, OWNER, READER, TEMPORARY


def test_the_server_log_never_holds_a_secret(server):
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "authenticated" in log and "ak:" + OWNER.ak in log, "the log is written at debug level and names callers"
    secrets = [OWNER.sk, OWNER.token, OTHER.sk, OTHER.token, READER.sk, READER.token, TEMPORARY.sk,
               TEMPORARY.security_token]
    for secret in secrets:
        assert secret not in log, "a secret reached the server log"
