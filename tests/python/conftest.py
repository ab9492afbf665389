"""Shared fixtures of the real-client suite: one ims-tags server per test session.

The server binary comes from `IMS_TAGS_BIN` (default `<repo>/target/debug/ims-tags`); a missing binary is a
failure, never a skip. The server keeps its data in SQLite, or, when `IMS_TAGS_TEST_POSTGRES` holds the admin
URL of a PostgreSQL cluster (`scripts/test-postgres start` prints one), in a fresh schema of that cluster
(created with `psql`). The config written here holds these identities (contract section 5):

* owner: `X-Auth-Token` token and a permanent AK/SK, default project PROJECT_A, plus the EXTRA_PROJECTS pool
  (each test that needs project-wide aggregates takes a fresh project from the pool with `server.new_project()`);
* temporary: a temporary AK/SK that must be sent with its security token, same projects;
* other: a token and an AK/SK of PROJECT_B (tenant isolation);
* reader: a token and an AK/SK of PROJECT_A with only `ims:images:get` and `ims:images:list`.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]

PROJECT_A = "0123456789abcdef0123456789abcdef"
PROJECT_B = "fedcba9876543210fedcba9876543210"
PROJECT_NOBODY = "99999999999999999999999999999999"
EXTRA_PROJECTS = [f"e{n:031x}" for n in range(1, 81)]
TAGS_PER_IMAGE = 10

ALL_ACTIONS = ["ims:images:get", "ims:images:list", "ims:images:update", "ims:images:create", "ims:images:delete"]
READ_ACTIONS = ["ims:images:get", "ims:images:list"]

READY = re.compile(r"ims-tags is running on (http://127\.0\.0\.1:\d+)")


@dataclasses.dataclass(frozen=True)
class Identity:
    name: str
    project: str
    token: str
    ak: str
    sk: str
    security_token: str | None = None


OWNER = Identity("owner", PROJECT_A, "owner-token", "AKTESTAK0000000000", "SKtestsecret0000000000000000000000000000")
TEMPORARY = Identity(
    "temporary", PROJECT_A, "temporary-token-unused", "AKTEMPAK0000000000",
    "SKtempsecret0000000000000000000000000000", security_token="TOKEN123-security-token",
)
OTHER = Identity("other", PROJECT_B, "other-token", "AKOTHERAK000000000", "SKothersecret000000000000000000000000000")
READER = Identity("reader", PROJECT_A, "reader-token", "AKREADERAK00000000", "SKreadersecret00000000000000000000000000")


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def postgres_database_url() -> str | None:
    """A fresh schema on the PostgreSQL cluster under test, as a database URL; None when testing SQLite."""
    admin = os.environ.get("IMS_TAGS_TEST_POSTGRES")
    if not admin:
        return None
    schema = "py_" + uuid.uuid4().hex
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("IMS_TAGS_TEST_POSTGRES is set but psql is not installed (scripts/test-postgres installs it)",
                    pytrace=False)
    subprocess.run([psql, admin, "-qXc", f"CREATE SCHEMA {schema}"], check=True)
    return f"{admin}?options=-c%20search_path%3D{schema}"


def write_config(path: Path, data_dir: Path, database_url: str | None = None) -> None:
    extra = EXTRA_PROJECTS
    lines = [
        'listen = "127.0.0.1:0"',
        f"data_dir = {_toml_str(str(data_dir))}",
        *([f"database_url = {_toml_str(database_url)}"] if database_url else []),
        "[limits]",
        f"tags_per_image = {TAGS_PER_IMAGE}",
        "[auth]",
        "max_clock_skew_secs = 900",
    ]

    def token(ident: Identity, projects, actions):
        lines.extend([
            "[[auth.tokens]]",
            f"name = {_toml_str(ident.name)}",
            f"token = {_toml_str(ident.token)}",
            f"default_project = {_toml_str(ident.project)}",
            f"projects = {_toml_list(projects)}",
            f"actions = {_toml_list(actions)}",
        ])

    def credential(ident: Identity, projects, actions):
        lines.extend([
            "[[auth.credentials]]",
            f"access_key = {_toml_str(ident.ak)}",
            f"secret_key = {_toml_str(ident.sk)}",
        ])
        if ident.security_token:
            lines.append(f"security_token = {_toml_str(ident.security_token)}")
        lines.extend([
            f"default_project = {_toml_str(ident.project)}",
            f"projects = {_toml_list(projects)}",
            f"actions = {_toml_list(actions)}",
        ])

    token(OWNER, extra, ALL_ACTIONS)
    credential(OWNER, extra, ["*"])
    credential(TEMPORARY, extra, ["*"])
    token(OTHER, [], ALL_ACTIONS)
    credential(OTHER, [], ["*"])
    token(READER, [], READ_ACTIONS)
    credential(READER, [], READ_ACTIONS)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def server_binary() -> Path:
    configured = os.environ.get("IMS_TAGS_BIN")
    binary = Path(configured) if configured else REPO / "target" / "debug" / "ims-tags"
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"ims-tags server binary not found or not executable: {binary} "
            "(build it with `cargo build -p ims-tags`, or point IMS_TAGS_BIN at it)",
            pytrace=False,
        )
    return binary


class Server:
    """A running ims-tags process and helpers that talk to it with plain `requests` (for setup)."""

    def __init__(self, base_url: str, workdir: Path, proc: subprocess.Popen, log_path: Path):
        self.base_url = base_url
        self.workdir = workdir
        self.proc = proc
        self.log_path = log_path
        self._projects = iter(EXTRA_PROJECTS)
        self.http = requests.Session()

    # --- identities ---------------------------------------------------------------------------------------------
    owner = OWNER
    temporary = TEMPORARY
    other = OTHER
    reader = READER

    def new_project(self) -> str:
        """A project nobody has used yet (the owner token and owner/temporary AKs are scoped to it)."""
        try:
            return next(self._projects)
        except StopIteration:  # pragma: no cover - grow EXTRA_PROJECTS
            pytest.fail("EXTRA_PROJECTS pool exhausted: enlarge it in conftest.py")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    # --- raw HTTP helpers (token auth) ----------------------------------------------------------------------------
    def request(self, method: str, path: str, ident: Identity = OWNER, project: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("X-Auth-Token", ident.token)
        if project is not None:
            headers["X-Project-Id"] = project
        return self.http.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def create_image(self, ident: Identity = OWNER, project: str | None = None, **body) -> dict:
        body.setdefault("name", "img-" + uuid.uuid4().hex[:8])
        resp = self.request("POST", "/v2/images", ident, project, json=body)
        assert resp.status_code == 201, (resp.status_code, resp.text)
        return resp.json()

    def image(self, image_id: str, ident: Identity = OWNER, project: str | None = None) -> dict:
        resp = self.request("GET", f"/v2/images/{image_id}", ident, project)
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return resp.json()

    def string_tags(self, image_id: str, ident: Identity = OWNER, project: str | None = None) -> list[str]:
        """The image's tags in the string view (`GET /v2/images/{id}` field `tags`)."""
        return self.image(image_id, ident, project)["tags"]

    def kv_tags(self, image_id: str, ident: Identity = OWNER, project: str | None = None) -> list[tuple[str, str]]:
        """The image's tags in the IMS v2 view (op 9), as (key, value) pairs."""
        project = project or ident.project
        resp = self.request("GET", f"/v2/{project}/images/{image_id}/tags", ident, None)
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return [(t["key"], t["value"]) for t in resp.json()["tags"]]


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the server if pytest itself dies (even by SIGKILL)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux/glibc: the fixture's finalizer still stops the server
        pass


def _start_server(tmp: Path) -> Server:
    binary = server_binary()
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True)
    config = tmp / "config.toml"
    write_config(config, data_dir, postgres_database_url())
    log_path = tmp / "server.log"
    # IMS_TAGS_* variables are config overrides for the server (figment): never pass ours (IMS_TAGS_BIN) on.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_TAGS_")}
    # Debug level, so that the log test at the end of the session sees everything the server can log.
    env["RUST_LOG"] = "debug,hyper=info,hyper_util=info,h2=info"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(binary), "--config", str(config)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=tmp,
        preexec_fn=_die_with_parent,
    )
    log.close()
    deadline = time.monotonic() + 30
    base_url = None
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        match = READY.search(text)
        if match:
            base_url = match.group(1)
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if base_url is None:
        _stop(proc)
        pytest.fail(
            f"ims-tags did not start (exit code {proc.returncode}); its output:\n"
            + log_path.read_text(encoding="utf-8", errors="replace"),
            pytrace=False,
        )
    return Server(base_url, tmp, proc, log_path)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server():
    """One ims-tags server (fresh data dir) for the whole session, stopped at the end whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix="ims-tags-pytest-"))
    srv = _start_server(tmp)
    try:
        yield srv
    finally:
        srv.http.close()
        _stop(srv.proc)
        if os.environ.get("IMS_TAGS_KEEP_TMP"):
            print(f"ims-tags test data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


_own_home: str | None = None


def pytest_configure(config):
    # glanceclient caches schemas in ~/.glanceclient and the Huawei SDK writes ~/.huaweicloud/application_id:
    # keep both out of the real home even when pytest runs without scripts/python-tests (which sets its own).
    global _own_home
    if not os.environ.get("IMS_TAGS_TEST_HOME"):
        _own_home = tempfile.mkdtemp(prefix="ims-tags-home-")
        os.environ["IMS_TAGS_TEST_HOME"] = _own_home
        os.environ["HOME"] = _own_home


def pytest_unconfigure(config):
    if _own_home:
        shutil.rmtree(_own_home, ignore_errors=True)


_counter = itertools.count(1)


def unique(prefix: str = "t") -> str:
    """A short unique tag or name fragment (IMS key charset: letters, digits, `_`, `-`)."""
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:6]}"
