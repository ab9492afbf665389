"""The Glance-native tag endpoints (ops 1 and 2) and the image registry driven by real OpenStack clients:
python-glanceclient (its Python API and the `glance` CLI, token only, no Keystone) and openstacksdk
(`admin_token` auth with an endpoint override; version discovery hits `GET /` first).
Expected results come from the product contract (shared/contract.md) and reference/glance-behaviour.md C.1-C.5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import glanceclient
import openstack
import pytest
from glanceclient import exc as gexc
from openstack import exceptions as osexc

from conftest import OTHER, OWNER, READER, TAGS_PER_IMAGE, Identity, unique

MISSING_IMAGE = "4d2c0b0e-1111-2222-3333-444455556666"


def by_bytes(strings):
    return sorted(strings, key=lambda s: s.encode("utf-8"))


@pytest.fixture
def gc(server):
    return glanceclient.Client("2", endpoint=server.base_url, token=OWNER.token)


def glance_client(server, ident: Identity):
    return glanceclient.Client("2", endpoint=server.base_url, token=ident.token)


def server_error(server, method: str, path: str, ident: Identity = OWNER) -> tuple[int, str]:
    """The status and envelope message the server gives for a request (to compare with what a client shows)."""
    resp = server.request(method, path, ident)
    body = resp.json()
    assert set(body) == {"error"}, body
    return resp.status_code, body["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------
# python-glanceclient, Python API
# ---------------------------------------------------------------------------------------------------------------


def test_api_tag_update_get_and_delete(server, gc):
    image = server.create_image(name=unique("gc"))
    iid = image["id"]
    # glanceclient puts the tag in the URL unquoted; requests escapes the space and the non-ASCII characters
    for tag in ("alpha", "b c", "ü", "x+y", "gabe@example.com"):
        gc.image_tags.update(iid, tag)
    gc.image_tags.update(iid, "alpha")  # idempotent
    got = gc.images.get(iid)
    assert got.id == iid and got.name == image["name"] and got.status == "queued"
    assert by_bytes(got.tags) == by_bytes(["alpha", "b c", "ü", "x+y", "gabe@example.com"])
    # the server stored the decoded UTF-8 (no latin-1 mojibake as real Glance does), '+' stays '+'
    assert sorted(server.kv_tags(iid)) == sorted(
        [("alpha", ""), ("b c", ""), ("ü", ""), ("x+y", ""), ("gabe@example.com", "")])
    assert got.updated_at >= image["updated_at"]
    gc.image_tags.delete(iid, "b c")
    gc.image_tags.delete(iid, "ü")
    gc.image_tags.delete(iid, "x+y")
    assert by_bytes(gc.images.get(iid).tags) == ["alpha", "gabe@example.com"]


def test_api_key_value_tags_in_the_string_view(server, gc):
    """IMS key/value tags show as `k=v` to Glance clients; `DELETE .../tags/k=v` needs the value to match."""
    iid = server.create_image(tags=["env=prod", "solo"])["id"]
    assert by_bytes(gc.images.get(iid).tags) == ["env=prod", "solo"]
    with pytest.raises(gexc.HTTPNotFound):
        gc.image_tags.delete(iid, "env=dev")
    gc.image_tags.delete(iid, "env=prod")
    gc.image_tags.delete(iid, "solo")
    assert gc.images.get(iid).tags == []
    # a native tag may not hold '=': 400, nothing changed
    with pytest.raises(gexc.HTTPBadRequest) as info:
        gc.image_tags.update(iid, "k=v")
    assert info.value.details and "object has no attribute" not in info.value.details
    assert gc.images.get(iid).tags == []


def test_api_missing_tag_delete_is_readable_404(server, gc):
    iid = server.create_image(tags=["present"])["id"]
    with pytest.raises(gexc.HTTPNotFound) as info:
        gc.image_tags.delete(iid, "absent")
    status, message = server_error(server, "DELETE", f"/v2/images/{iid}/tags/absent")
    assert status == 404
    assert info.value.details == message, "glanceclient shows the envelope's message"
    assert "object has no attribute" not in str(info.value)
    assert info.value.code == 404
    assert gc.images.get(iid).tags == ["present"]


def test_api_images_list_tag_filter(server, gc):
    t1, t2 = unique("f"), unique("g")
    a = server.create_image(name="a-" + t1, tags=[t1, t2])
    b = server.create_image(name="b-" + t1, tags=[t1])
    c = server.create_image(name="c-" + t1, tags=[t2, f"{t1}=x"])
    server.create_image(OTHER, tags=[t1, t2])  # another project's private image never shows up

    def ids(tags, **kwargs):
        return sorted(i.id for i in gc.images.list(filters={"tag": tags}, **kwargs))

    assert ids([t1]) == sorted([a["id"], b["id"]]), "exact match on the string view"
    assert ids([t1, t2]) == [a["id"]], "repeated tag= is AND"
    assert ids([t2]) == sorted([a["id"], c["id"]])
    assert ids([f"{t1}=x"]) == [c["id"]], "k=v matches key and value"
    assert ids(["no-such-tag-" + t1]) == []
    # paging through `next` links gives the same result
    assert ids([t1], page_size=1) == sorted([a["id"], b["id"]])
    # sort_key / sort_dir as the CLI sends them (sort_key=name&sort_dir=asc)
    names = lambda d: [i.name for i in gc.images.list(filters={"tag": [t1]}, sort_key="name", sort_dir=d)]
    assert names("asc") == [a["name"], b["name"]]
    assert names("desc") == [b["name"], a["name"]]
    listed = list(gc.images.list(filters={"tag": [t1, t2]}))
    assert listed[0].name == a["name"] and by_bytes(listed[0].tags) == by_bytes([t1, t2])


def test_api_errors(server, gc):
    iid = server.create_image(tags=["keep"])["id"]
    with pytest.raises(gexc.HTTPNotFound):
        gc.images.get(MISSING_IMAGE)
    with pytest.raises(gexc.HTTPNotFound):
        gc.image_tags.update(MISSING_IMAGE, "t")
    foreign = server.create_image(OTHER, tags=["secret"])
    with pytest.raises(gexc.HTTPNotFound):
        gc.image_tags.update(foreign["id"], "t")
    with pytest.raises(gexc.HTTPNotFound):
        gc.image_tags.delete(foreign["id"], "secret")
    assert server.string_tags(foreign["id"], OTHER) == ["secret"]
    public = server.create_image(OTHER, visibility="public", tags=["pub"])
    assert gc.images.get(public["id"]).tags == ["pub"], "public images are readable"
    with pytest.raises(gexc.HTTPForbidden):
        gc.image_tags.update(public["id"], "t")
    with pytest.raises(gexc.HTTPForbidden):
        glance_client(server, READER).image_tags.update(iid, "t")
    with pytest.raises(gexc.HTTPUnauthorized) as info:
        glance_client(server, Identity("bad", OWNER.project, "wrong-token", "-", "-")).image_tags.update(iid, "t")
    assert info.value.details and "object has no attribute" not in info.value.details
    with pytest.raises(gexc.HTTPBadRequest):
        gc.image_tags.update(iid, "x" * 256)
    assert server.string_tags(iid) == ["keep"]
    assert server.string_tags(public["id"], OTHER) == ["pub"]


def test_api_images_create_and_delete_with_tags(server, gc):
    """The registry as glanceclient uses it: create validates against /v2/schemas/image, tags in the body."""
    name = unique("gcc")
    image = gc.images.create(name=name, tags=["a", "a", "b=c"], disk_format="qcow2", container_format="bare",
                             architecture="x86_64")
    assert image.name == name and image.status == "queued" and image.visibility == "private"
    assert by_bytes(image.tags) == ["a", "b=c"], "duplicates collapse"
    assert image.architecture == "x86_64"
    assert sorted(server.kv_tags(image.id)) == [("a", ""), ("b", "c")]
    with pytest.raises(gexc.HTTPBadRequest):
        gc.images.create(name=name, tags=["k=1", "k=2"])
    with pytest.raises(gexc.HTTPOverLimit):
        gc.images.create(name=name, tags=[f"t{n}" for n in range(TAGS_PER_IMAGE + 1)])
    assert [i.id for i in gc.images.list(filters={"name": name})] == [image.id], "rejected creates stored nothing"
    gc.images.delete(image.id)
    with pytest.raises(gexc.HTTPNotFound):
        gc.images.get(image.id)
    with pytest.raises(gexc.HTTPNotFound):
        gc.image_tags.update(image.id, "late")


def test_api_tag_quota_is_413(server, gc):
    tags = [f"q{n:02d}" for n in range(TAGS_PER_IMAGE)]
    iid = server.create_image(tags=tags)["id"]
    with pytest.raises(gexc.HTTPOverLimit) as info:
        gc.image_tags.update(iid, "one-too-many")
    assert info.value.details and "object has no attribute" not in info.value.details
    gc.image_tags.update(iid, "q00")  # an existing tag at the limit is fine
    assert gc.images.get(iid).tags == tags


# ---------------------------------------------------------------------------------------------------------------
# The glance CLI (no Keystone: --os-image-url and --os-auth-token)
# ---------------------------------------------------------------------------------------------------------------


def glance_cli(server, *args, token: str = OWNER.token, api_version: str | None = None, home: Path | None = None):
    """Runs the `glance` CLI. Each call gets a fresh HOME (so no cached ~/.glanceclient schemas) unless `home`
    is given: test_cli_repeated_commands_with_cached_schemas covers the cached case on its own."""
    exe = Path(sys.executable).parent / "glance"
    if not exe.is_file():
        pytest.fail(f"the glance CLI is not installed next to {sys.executable}", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(home) if home else tempfile.mkdtemp(prefix="glance-home-", dir=os.environ.get("HOME"))
    cmd = [str(exe), "--os-image-url", server.base_url, "--os-auth-token", token]
    if api_version:
        cmd += ["--os-image-api-version", api_version]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def table_columns(stdout: str) -> list[dict[str, str]]:
    """The rows of a horizontal prettytable (`| ID | Tags |` header, then data rows)."""
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in stdout.splitlines()
             if line.startswith("|")]
    return [dict(zip(lines[0], row)) for row in lines[1:]] if lines else []


def table_rows(stdout: str) -> dict[str, str]:
    """`| Property | Value |` rows of a prettytable."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) >= 2:
                rows[cells[0]] = cells[1]
    return rows


def test_cli_tag_update_show_and_delete(server):
    name = unique("cli")
    iid = server.create_image(name=name, tags=["existing"])["id"]
    # full version discovery: GET /versions, then the schemas
    done = glance_cli(server, "image-tag-update", iid, "beta")
    assert done.returncode == 0, done.stderr
    rows = table_columns(done.stdout)
    assert [r["ID"] for r in rows] == [iid], done.stdout
    assert rows[0]["Tags"] == "['beta', 'existing']", done.stdout
    assert server.string_tags(iid) == ["beta", "existing"]

    shown = glance_cli(server, "image-show", iid)
    assert shown.returncode == 0, shown.stderr
    rows = table_rows(shown.stdout)
    assert rows["id"] == iid and rows["name"] == name and rows["status"] == "queued", shown.stdout
    assert json.loads(rows["tags"]) == ["beta", "existing"], shown.stdout

    deleted = glance_cli(server, "image-tag-delete", iid, "beta")
    assert deleted.returncode == 0, deleted.stderr
    assert server.string_tags(iid) == ["existing"]

    shown = glance_cli(server, "image-show", iid, api_version="2")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(table_rows(shown.stdout)["tags"]) == ["existing"], shown.stdout


def test_cli_repeated_commands_with_cached_schemas(server, tmp_path):
    """A user's second `glance` command reads the image schema cached in ~/.glanceclient by the first one and
    builds the image-create/image-update options from it (glanceclient `utils.schema_args`, which skips only
    `readOnly` properties). The server's schema must therefore mark the read-only fields `readOnly: true` as
    Glance does: a writable `file` property clashes with image-create's own `--file` option and argparse then
    aborts every command with `argument --file: conflicting option string: --file`."""
    iid = server.create_image(tags=["cached"])["id"]
    first = glance_cli(server, "image-show", iid, home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / ".glanceclient" / "image_schema.json").is_file(), "the CLI caches the image schema"
    for attempt in ("image-show", "image-tag-update"):
        args = (iid,) if attempt == "image-show" else (iid, "second")
        again = glance_cli(server, attempt, *args, home=tmp_path)
        assert again.returncode == 0, f"{attempt} with the cached schema failed: {again.stderr.strip()}"
    assert server.string_tags(iid) == ["cached", "second"]
    schema = server.request("GET", "/v2/schemas/image").json()
    writable = [name for name, prop in schema["properties"].items()
                if name in ("file", "self", "schema", "status", "created_at", "updated_at", "size",
                            "virtual_size", "checksum") and not prop.get("readOnly")]
    assert writable == [], f"server-managed image fields not marked readOnly in /v2/schemas/image: {writable}"


def test_cli_missing_tag_delete_fails_readably(server):
    iid = server.create_image(tags=["present"])["id"]
    failed = glance_cli(server, "image-tag-delete", iid, "absent", api_version="2")
    assert failed.returncode == 1, (failed.returncode, failed.stdout, failed.stderr)
    _, message = server_error(server, "DELETE", f"/v2/images/{iid}/tags/absent")
    # glanceclient prints "HTTP <message>" from the envelope; on the Glance paths the message starts with the
    # status line, so the CLI shows the status as it does against Glance ("HTTP 404 Not Found: ...")
    assert failed.stderr.strip() == f"HTTP {message}", failed.stderr
    assert failed.stderr.startswith("HTTP 404 Not Found: "), failed.stderr
    assert "object has no attribute" not in failed.stderr, failed.stderr
    assert server.string_tags(iid) == ["present"]


def test_cli_image_list_by_tag(server):
    t1, t2 = unique("cl"), unique("cm")
    a = server.create_image(name="a-" + t1, tags=[t1, t2])
    b = server.create_image(name="b-" + t1, tags=[t1])
    listed = glance_cli(server, "image-list", "--tag", t1, "--tag", t2)
    assert listed.returncode == 0, listed.stderr
    assert a["id"] in listed.stdout and b["id"] not in listed.stdout, listed.stdout
    listed = glance_cli(server, "image-list", "--tag", t1, api_version="2")
    assert listed.returncode == 0, listed.stderr
    assert a["id"] in listed.stdout and b["id"] in listed.stdout, listed.stdout


def test_cli_errors(server):
    unknown = glance_cli(server, "image-show", MISSING_IMAGE, api_version="2")
    _, message = server_error(server, "GET", f"/v2/images/{MISSING_IMAGE}")
    assert unknown.returncode == 1 and unknown.stderr.strip() == f"HTTP {message}", unknown.stderr
    assert unknown.stderr.startswith("HTTP 404 Not Found: "), unknown.stderr
    iid = server.create_image()["id"]
    refused = glance_cli(server, "image-tag-update", iid, "t", token="wrong-token", api_version="2")
    status, _ = server_error(server, "PUT", f"/v2/images/{iid}/tags/t",
                             Identity("bad", OWNER.project, "wrong-token", "-", "-"))
    assert status == 401
    # the CLI turns any 401 into its own fixed text
    assert refused.returncode == 1 and refused.stderr.strip() == "Invalid OpenStack Identity credentials.", \
        refused.stderr
    assert server.string_tags(iid) == []


# ---------------------------------------------------------------------------------------------------------------
# openstacksdk
# ---------------------------------------------------------------------------------------------------------------


def connect(server, ident: Identity = OWNER):
    return openstack.connect(
        auth_type="admin_token",
        auth={"token": ident.token, "endpoint": server.base_url},
        image_endpoint_override=server.base_url,
        load_yaml_config=False,
        load_envvars=False,
    )


def test_openstacksdk_tags(server):
    conn = connect(server)
    try:
        t1 = unique("os")
        a = server.create_image(name="a-" + t1, tags=["base"])
        b = server.create_image(name="b-" + t1)
        image = conn.image.get_image(a["id"])
        assert image.id == a["id"] and image.name == a["name"] and image.tags == ["base"]
        conn.image.add_tag(image, t1)
        conn.image.add_tag(b["id"], t1)
        conn.image.add_tag(image, "sp ace")
        assert by_bytes(conn.image.get_image(a["id"]).tags) == by_bytes(["base", t1, "sp ace"])
        assert sorted(i.id for i in conn.image.images(tag=[t1])) == sorted([a["id"], b["id"]])
        assert [i.id for i in conn.image.images(tag=[t1, "base"])] == [a["id"]]
        conn.image.remove_tag(image, "sp ace")
        conn.image.remove_tag(image, t1)
        assert conn.image.get_image(a["id"]).tags == ["base"]
        assert [i.id for i in conn.image.images(tag=[t1])] == [b["id"]]
        with pytest.raises(osexc.NotFoundException):
            conn.image.remove_tag(conn.image.get_image(a["id"]), "absent")
        foreign = server.create_image(OTHER, tags=["secret"])
        with pytest.raises(osexc.NotFoundException):
            conn.image.get_image(foreign["id"])
        with pytest.raises(osexc.NotFoundException):
            conn.image.add_tag(foreign["id"], "t")
        assert server.string_tags(foreign["id"], OTHER) == ["secret"]
    finally:
        conn.close()


def test_openstacksdk_create_image_and_list_with_its_parameters(server):
    """`conn.image.create_image` first looks for an image of that name, hidden ones too (`GET /v2/images?name=...`
    then `?name=...&os_hidden=True`: Python's `True`, which Glance reads as a boolean), then creates it; and
    `conn.image.images(...)` sends each filter as openstacksdk maps it (`is_hidden` -> `os_hidden`)."""
    conn = connect(server)
    try:
        name = unique("sdk")
        image = conn.image.create_image(name=name, disk_format="qcow2", container_format="bare")
        assert image.name == name and image.status == "queued"
        assert image.disk_format == "qcow2" and image.container_format == "bare"
        shown = server.image(image.id)
        assert shown["name"] == name and shown["owner"] == OWNER.project
        hidden = server.create_image(name=name + "-hidden", os_hidden=True, protected=True, tags=["h"])

        def ids(**query):
            return sorted(i.id for i in conn.image.images(**query))

        assert ids(name=name) == [image.id]
        assert ids(name=name + "-hidden") == [], "hidden images are left out by default"
        assert ids(name=name + "-hidden", is_hidden=True) == [hidden["id"]]
        assert ids(name=name, is_hidden=False) == [image.id]
        assert ids(id=image.id) == [image.id]
        assert ids(protected=True, is_hidden=True, name=name + "-hidden") == [hidden["id"]]
        assert ids(protected=False, name=name) == [image.id]
        assert ids(owner=OWNER.project, name=name, visibility="private", status="queued") == [image.id]
        assert ids(tag=["h"], is_hidden=True) == [hidden["id"]]
        assert ids(created_at="gte:2000-01-01T00:00:00Z", name=name) == [image.id]
        assert ids(created_at="lt:2000-01-01T00:00:00Z", name=name) == []
        assert ids(sort_key="name", sort_dir="asc", name=name) == [image.id]
        # a second create_image with that name finds the first (by name, then among hidden images too) and,
        # with no data whose checksum could match, registers a second one
        again = conn.image.create_image(name=name, disk_format="qcow2", container_format="bare")
        assert again.id != image.id
        assert ids(name=name) == sorted([image.id, again.id])
        # a word Glance does not read as a boolean is a 400 naming the parameter
        bad = server.request("GET", "/v2/images?os_hidden=maybe")
        assert bad.status_code == 400 and "os_hidden" in bad.json()["error"]["message"], bad.text
    finally:
        conn.close()
