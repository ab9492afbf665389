"""The ten IMS image-tag APIs driven by the real Huawei Cloud Python SDK (huaweicloudsdkims 3.1.219).

Every test runs once per signing variant:
* `hmac_sha256`: `SDK-HMAC-SHA256` with a permanent AK/SK (the SDK default);
* `hmac_sm3`: `SDK-HMAC-SM3` (`HttpConfig.signing_algorithm = SigningAlgorithm.HMAC_SM3`);
* `temporary`: a temporary AK/SK sent with `X-Security-Token` (`BasicCredentials.with_security_token`);
* `v11`: the derived signer `V11-HMAC-SHA256` (`with_derived_predicate`, region `cn-north-4`, service `ims`).
Expected results come from the product contract (shared/contract.md, sections 1-6).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkims.v2 import (
    AddImageTagRequest,
    AddImageTagRequestBody,
    AddOrUpdateTagsRequestBody,
    BatchAddOrDeleteTagsRequest,
    BatchAddOrDeleteTagsRequestBody,
    CreateOrUpdateTagsRequest,
    DeleteImageTagRequest,
    GlanceCreateImageMetadataRequest,
    GlanceCreateImageMetadataRequestBody,
    GlanceCreateTagRequest,
    GlanceDeleteTagRequest,
    ImsClient,
    ListImageByTagsRequest,
    ListImageByTagsRequestBody,
    ListImagesTagsRequest,
    ListImageTagsRequest,
    ListTagsRequest,
    ResourceTag,
    TagKeyValue,
    Tags,
)

from conftest import OTHER, OWNER, PROJECT_A, PROJECT_B, READER, TAGS_PER_IMAGE, TEMPORARY, Identity, unique

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

VARIANTS = ["hmac_sha256", "hmac_sm3", "temporary", "v11"]
SCHEME = {
    "hmac_sha256": "SDK-HMAC-SHA256",
    "hmac_sm3": "SDK-HMAC-SM3",
    "temporary": "SDK-HMAC-SHA256",
    "v11": "V11-HMAC-SHA256",
}
MISSING_IMAGE = "4d2c0b0e-1111-2222-3333-444455556666"


class Wire:
    """Records what the SDK really sent and got (an SDK response handler)."""

    def __init__(self):
        self.exchanges = []

    def __call__(self, **kwargs):
        resp = kwargs["response"]
        self.exchanges.append(resp)

    @property
    def last(self):
        assert self.exchanges, "the SDK sent nothing"
        return self.exchanges[-1]


class Sdk:
    """An ImsClient for one variant, identity and project, plus the wire recorder."""

    def __init__(self, server, variant: str, ident: Identity, project: str | None = None, sk: str | None = None,
                 security_token: str | None = "default", ignore_content_type_for_get: bool = False):
        self.variant = variant
        self.ident = ident
        self.project = project or ident.project
        self.wire = Wire()
        config = HttpConfig.get_default_config()
        config.timeout = (5, 30)
        if variant == "hmac_sm3":
            config.signing_algorithm = SigningAlgorithm.HMAC_SM3
        config.ignore_content_type_for_get_request = ignore_content_type_for_get
        credentials = BasicCredentials(ident.ak, sk or ident.sk, self.project)
        token = ident.security_token if security_token == "default" else security_token
        if token:
            credentials = credentials.with_security_token(token)
        builder = (
            ImsClient.new_builder()
            .with_http_config(config)
            .with_http_handler(HttpHandler().add_response_handler(self.wire))
        )
        if variant == "v11":
            credentials.with_derived_predicate(BasicCredentials.get_default_derived_predicate())
            builder = builder.with_region(Region("cn-north-4", server.base_url))
            builder._with_derived_auth_service_name("ims")
        else:
            builder = builder.with_endpoints([server.base_url])
        self.client = builder.with_credentials(credentials).build()

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.fixture(params=VARIANTS)
def variant(request):
    return request.param


@pytest.fixture
def sdk_factory(server, variant):
    """Builds SDK clients for the current variant. The owner role is the temporary AK in the `temporary` run."""

    def make(ident: Identity = OWNER, project: str | None = None, **kwargs) -> Sdk:
        if ident is OWNER and variant == "temporary":
            ident = TEMPORARY
        return Sdk(server, variant, ident, project, **kwargs)

    return make


@pytest.fixture
def sdk(sdk_factory):
    return sdk_factory()


def kv(pairs):
    """SDK ResourceTag / TagKeyValue objects -> sorted list of (key, value)."""
    return [(t.key, t.value) for t in pairs]


def by_bytes(strings):
    return sorted(strings, key=lambda s: s.encode("utf-8"))


def expect_error(call, status: int, code: str, wire: Wire | None = None) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as info:
        call()
    exc = info.value
    assert exc.status_code == status, (exc.status_code, exc.error_code, exc.error_msg)
    assert exc.error_code == code, (exc.status_code, exc.error_code, exc.error_msg)
    assert exc.error_msg, "the error message must not be empty"
    assert exc.request_id, "the SDK fills request_id from the X-Request-Id response header"
    if wire is not None:
        assert exc.request_id == wire.last.headers.get("X-Request-Id"), "request_id must come from X-Request-Id"
        body = wire.last.json()
        assert set(body) == {"error"} and set(body["error"]) >= {"code", "message"}, body
    return exc


# ---------------------------------------------------------------------------------------------------------------
# Signing on the wire
# ---------------------------------------------------------------------------------------------------------------


def test_signature_scheme_on_the_wire(server, sdk, variant):
    """Each variant really signs with its scheme (and the temporary AK sends its token); the server accepts it."""
    image = server.create_image()
    resp = sdk.list_image_tags(ListImageTagsRequest(image_id=image["id"]))
    assert resp.status_code == 200
    assert resp.tags == []
    sent = sdk.wire.last.request
    auth = sent.headers["Authorization"]
    assert auth.startswith(SCHEME[variant] + " "), auth
    signed = re.search(r"SignedHeaders=([^,]+)", auth).group(1).split(";")
    assert {"host", "x-sdk-date", "x-project-id"} <= set(signed), signed
    if variant == "temporary":
        assert sent.headers["X-Security-Token"] == TEMPORARY.security_token
        assert "x-security-token" in signed
    else:
        assert "X-Security-Token" not in sent.headers
    if variant == "v11":
        assert re.search(r"Credential=%s/\d{8}/cn-north-4/ims," % sdk.ident.ak, auth), auth
    assert sdk.wire.last.headers.get("X-Request-Id")


@pytest.mark.parametrize("minutes,accepted", [(-10, True), (10, True), (-20, False), (20, False)])
def test_sdk_date_within_15_minutes(server, sdk_factory, monkeypatch, minutes, accepted):
    """The SDK signs with a clock `minutes` off: within 15 minutes is accepted, beyond is 401 APIGW.0301."""
    import datetime as dt

    import huaweicloudsdkcore.signer.signer as signer_module

    class SkewedClock(dt.datetime):
        @classmethod
        def utcnow(cls):
            return dt.datetime.utcnow() + dt.timedelta(minutes=minutes)

    iid = server.create_image(tags=["clock"])["id"]
    sdk = sdk_factory()
    monkeypatch.setattr(signer_module, "datetime", SkewedClock)
    call = lambda: sdk.list_image_tags(ListImageTagsRequest(image_id=iid))
    if accepted:
        assert kv(call().tags) == [("clock", "")]
    else:
        expect_error(call, 401, "APIGW.0301", sdk.wire)
    sent = dt.datetime.strptime(sdk.wire.last.request.headers["X-Sdk-Date"], "%Y%m%dT%H%M%SZ")
    skew = (sent - dt.datetime.utcnow()).total_seconds()
    assert abs(skew - minutes * 60) < 60, f"the SDK clock was not skewed as intended: {skew}s"


def test_get_without_content_type(server, sdk_factory):
    """`HttpConfig.ignore_content_type_for_get_request`: GETs go out with no Content-Type, and it is not signed."""
    iid = server.create_image(tags=["ct=none"])["id"]
    sdk = sdk_factory(ignore_content_type_for_get=True)
    assert kv(sdk.list_image_tags(ListImageTagsRequest(image_id=iid)).tags) == [("ct", "none")]
    sent = sdk.wire.last.request
    assert "Content-Type" not in sent.headers
    assert "content-type" not in re.search(r"SignedHeaders=([^,]+)", sent.headers["Authorization"]).group(1)
    assert "ct=none" in sdk.list_tags(ListTagsRequest(id=iid, limit=5)).tags
    assert sdk.list_images_tags(ListImagesTagsRequest()).status_code == 200


# ---------------------------------------------------------------------------------------------------------------
# Ops 1 and 2: glance_create_tag / glance_delete_tag
# ---------------------------------------------------------------------------------------------------------------


def test_glance_create_tag_and_delete_tag(server, sdk):
    image = server.create_image()
    iid = image["id"]
    resp = sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="mytag"))
    assert resp.status_code == 204
    # idempotent re-add
    assert sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="mytag")).status_code == 204
    assert server.kv_tags(iid) == [("mytag", "")]
    assert server.string_tags(iid) == ["mytag"]
    # a native tag may hold a space, '/', '~' and non-ASCII; the SDK percent-encodes it (a%20b%2Fc~d_%C3%A9)
    special = "a b/c~d_é"
    assert sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag=special)).status_code == 204
    assert "/tags/a%20b%2Fc~d_%C3%A9" in sdk.wire.last.request.url
    assert server.kv_tags(iid) == [("a b/c~d_é", ""), ("mytag", "")]
    # op 2 reads the string view: `k` deletes key k whatever its value, `k=v` only when the value is v
    server.request("POST", f"/v2/{PROJECT_A}/images/{iid}/tags", json={"tag": {"key": "env", "value": "prod"}})
    assert ("env", "prod") in server.kv_tags(iid)
    expect_error(lambda: sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=iid, tag="env=dev")), 404, "IMG.0115",
                 sdk.wire)
    assert ("env", "prod") in server.kv_tags(iid), "a rejected delete changed nothing"
    assert sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=iid, tag="env=prod")).status_code == 204
    assert sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=iid, tag="mytag")).status_code == 204
    assert sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=iid, tag=special)).status_code == 204
    assert server.kv_tags(iid) == []
    expect_error(lambda: sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=iid, tag="mytag")), 404, "IMG.0115",
                 sdk.wire)


def test_glance_create_tag_rejects_invalid_tags(server, sdk):
    image = server.create_image()
    iid = image["id"]
    # '=' is not allowed in a native tag; 256 characters is too long; both leave the image unchanged
    expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="k=v")), 400, "IMG.0115",
                 sdk.wire)
    expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="x" * 256)), 400,
                 "IMG.0115", sdk.wire)
    expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag=" lead")), 400, "IMG.0115",
                 sdk.wire)
    assert server.string_tags(iid) == []
    assert sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="é" * 255)).status_code == 204
    assert server.string_tags(iid) == ["é" * 255], "255 characters (not bytes) is the limit"


# ---------------------------------------------------------------------------------------------------------------
# Op 3: create_or_update_tags (PUT /v1/cloudimages/tags)
# ---------------------------------------------------------------------------------------------------------------


def test_create_or_update_tags_string_form(server, sdk):
    iid = server.create_image()["id"]
    req = CreateOrUpdateTagsRequest(body=AddOrUpdateTagsRequestBody(image_id=iid, tag="env.prod.eu-1"))
    assert sdk.create_or_update_tags(req).status_code == 204
    sent = json.loads(sdk.wire.last.request.body)
    assert sent == {"image_id": iid, "tag": "env.prod.eu-1"}
    # split at the first '.': key env, value prod.eu-1
    assert server.kv_tags(iid) == [("env", "prod.eu-1")]
    # no '.' -> value ""
    req = CreateOrUpdateTagsRequest(body=AddOrUpdateTagsRequestBody(image_id=iid, tag="team"))
    assert sdk.create_or_update_tags(req).status_code == 204
    # an existing key is updated
    req = CreateOrUpdateTagsRequest(body=AddOrUpdateTagsRequestBody(image_id=iid, tag="env.dev"))
    assert sdk.create_or_update_tags(req).status_code == 204
    assert server.kv_tags(iid) == [("env", "dev"), ("team", "")]
    assert server.string_tags(iid) == ["env=dev", "team"]


def test_create_or_update_tags_image_tag_form(server, sdk):
    iid = server.create_image()["id"]
    body = AddOrUpdateTagsRequestBody(image_id=iid, image_tag=ResourceTag(key="key1", value="value1"))
    assert sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=body)).status_code == 204
    assert json.loads(sdk.wire.last.request.body)["image_tag"] == {"key": "key1", "value": "value1"}
    body = AddOrUpdateTagsRequestBody(image_id=iid, image_tag=ResourceTag(key="中文键", value="v.1_x-Y"))
    assert sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=body)).status_code == 204
    body = AddOrUpdateTagsRequestBody(image_id=iid, image_tag=ResourceTag(key="key1", value=""))
    assert sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=body)).status_code == 204
    assert server.kv_tags(iid) == sorted([("key1", ""), ("中文键", "v.1_x-Y")])
    # invalid: value with a '/' (not in the IMS value set) -> 400 IMG.0115, nothing changed
    body = AddOrUpdateTagsRequestBody(image_id=iid, image_tag=ResourceTag(key="key2", value="a/b"))
    expect_error(lambda: sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=body)), 400, "IMG.0115", sdk.wire)
    # both or neither of tag / image_tag -> 400
    for body in (AddOrUpdateTagsRequestBody(image_id=iid, tag="a.b", image_tag=ResourceTag(key="a", value="b")),
                 AddOrUpdateTagsRequestBody(image_id=iid)):
        with pytest.raises(ClientRequestException) as info:
            sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=body))
        assert info.value.status_code == 400 and info.value.error_code.startswith("IMG."), info.value.error_code
    # unknown image -> 404 IMG.0144
    body = AddOrUpdateTagsRequestBody(image_id=MISSING_IMAGE, image_tag=ResourceTag(key="k", value="v"))
    expect_error(lambda: sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=body)), 404, "IMG.0144", sdk.wire)
    assert server.kv_tags(iid) == sorted([("key1", ""), ("中文键", "v.1_x-Y")])


# ---------------------------------------------------------------------------------------------------------------
# Op 4: list_tags (GET /v1/cloudimages/tags)
# ---------------------------------------------------------------------------------------------------------------


def test_list_tags_filters_and_paging(server, sdk_factory):
    project = server.new_project()
    sdk = sdk_factory(project=project)
    u = uuid.uuid4().hex[:8]
    img1 = server.create_image(project=project, name=f"linux image {u}", __os_type="Linux", min_disk=40,
                               __platform="Ubuntu", architecture="x86", virtual_env_type="FusionCompute",
                               tags=[f"env=prod{u}", f"team{u}"])
    img2 = server.create_image(project=project, name=f"win-{u}", __os_type="Windows", tags=[f"env=dev{u}", "zz=1"])
    img3 = server.create_image(project=project, name=f"pub-{u}", visibility="public", tags=[f"pub{u}"])
    # a public image of another project is visible (gold), its private images are not
    foreign_pub = server.create_image(OTHER, visibility="public", tags=[f"foreign{u}"])
    server.create_image(OTHER, tags=[f"secret{u}"])
    all_private = by_bytes(img1["tags"] + img2["tags"] + img3["tags"])
    assert all_private == by_bytes([f"env=prod{u}", f"team{u}", f"env=dev{u}", "zz=1", f"pub{u}"])

    resp = sdk.list_tags(ListTagsRequest(imagetype="private"))
    assert resp.status_code == 200
    assert resp.tags == all_private, "owned images only, sorted by bytes"

    everything = sdk.list_tags(ListTagsRequest()).tags
    assert everything == by_bytes(everything)
    assert set(all_private) | {f"foreign{u}"} <= set(everything)
    assert f"secret{u}" not in everything, "another project's private tags are never shown"

    gold = sdk.list_tags(ListTagsRequest(imagetype="gold")).tags
    assert {f"pub{u}", f"foreign{u}"} <= set(gold)
    assert not {f"env=prod{u}", f"env=dev{u}", f"team{u}"} & set(gold)

    assert sdk.list_tags(ListTagsRequest(imagetype="private", os_type="Linux")).tags == by_bytes(img1["tags"])
    assert sdk.list_tags(ListTagsRequest(name=f"win-{u}")).tags == by_bytes(img2["tags"])
    assert sdk.list_tags(ListTagsRequest(name=f"linux image {u}")).tags == by_bytes(img1["tags"]), "name with a space"
    assert sdk.list_tags(ListTagsRequest(name=f"linux image {u}".upper())).tags == [], "name is exact"
    # every query parameter the SDK knows at once (the captured request of the wire contract, section 4)
    everything_img1 = ListTagsRequest(
        limit=10, page=1, imagetype="private", id=img1["id"], status="queued", name=f"linux image {u}", min_disk=40,
        platform="Ubuntu", os_type="Linux", member_status="accepted", virtual_env_type="FusionCompute",
        enterprise_project_id="0", architecture="x86", created_at="gt:2018-10-28T10:00:00Z",
        updated_at="lte:2999-01-01 00:00:00")
    assert sdk.list_tags(everything_img1).tags == by_bytes(img1["tags"])
    assert "__platform=Ubuntu" in sdk.wire.last.request.url
    assert sdk.list_tags(ListTagsRequest(imagetype="private", platform="Ubuntu")).tags == by_bytes(img1["tags"])
    assert sdk.list_tags(ListTagsRequest(imagetype="private", architecture="arm")).tags == []
    assert sdk.list_tags(ListTagsRequest(imagetype="private", updated_at="gte:2999-01-01T00:00:00Z")).tags == []
    assert sdk.list_tags(ListTagsRequest(id=img3["id"])).tags == [f"pub{u}"]
    assert sdk.list_tags(ListTagsRequest(id=foreign_pub["id"])).tags == [f"foreign{u}"]
    assert sdk.list_tags(ListTagsRequest(imagetype="private", min_disk=40)).tags == by_bytes(img1["tags"])
    assert sdk.list_tags(ListTagsRequest(imagetype="private", status="active")).tags == []
    assert sdk.list_tags(ListTagsRequest(imagetype="private", status="queued")).tags == all_private
    # parameters the SDK knows but the contract ignores
    assert sdk.list_tags(ListTagsRequest(imagetype="private", member_status="accepted",
                                         enterprise_project_id="0")).tags == all_private
    # created_at as op:time
    assert sdk.list_tags(ListTagsRequest(imagetype="private", created_at="gt:2000-01-01T00:00:00Z")).tags == all_private
    assert sdk.list_tags(ListTagsRequest(imagetype="private", created_at="lt:2000-01-01 00:00:00")).tags == []
    # paging: limit and page over the sorted list; a page past the end is empty
    assert sdk.list_tags(ListTagsRequest(imagetype="private", limit=2, page=1)).tags == all_private[0:2]
    assert sdk.list_tags(ListTagsRequest(imagetype="private", limit=2, page=2)).tags == all_private[2:4]
    assert sdk.list_tags(ListTagsRequest(imagetype="private", limit=2, page=3)).tags == all_private[4:6]
    assert sdk.list_tags(ListTagsRequest(imagetype="private", limit=2, page=4)).tags == []
    assert sdk.list_tags(ListTagsRequest(imagetype="private", page=2)).tags == all_private, "page without limit"
    expect_error(lambda: sdk.list_tags(ListTagsRequest(limit=0)), 400, "IMG.0001", sdk.wire)
    expect_error(lambda: sdk.list_tags(ListTagsRequest(limit=2, page=0)), 400, "IMG.0001", sdk.wire)


# ---------------------------------------------------------------------------------------------------------------
# Op 5: list_image_by_tags
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def tagged_project(server):
    """A fresh project with four images: A env=prod team=core, B env=dev team="", C env=prod deprecated=true, D none."""
    project = server.new_project()
    u = uuid.uuid4().hex[:6]
    specs = {
        "A": (f"alpha-web-{u}", ["env=prod", "team=core"]),
        "B": (f"Beta-WEB-{u}", ["env=dev", "team"]),
        "C": (f"gamma-{u}", ["env=prod", "deprecated=true"]),
        "D": (f"delta-{u}", []),
    }
    images = {k: server.create_image(project=project, name=name, tags=tags) for k, (name, tags) in specs.items()}
    # op 5 covers owned images only: another project's public image with the same tags and name never shows up
    server.create_image(OTHER, visibility="public", name=f"alpha-web-{u}-other", tags=["env=prod", "team=core"])
    # contract order: created_at descending, then id ascending
    ordered = sorted(images.values(), key=lambda i: i["id"])
    ordered.sort(key=lambda i: i["created_at"], reverse=True)
    return project, images, [i["id"] for i in ordered], u


def test_list_image_by_tags_filter(server, sdk_factory, tagged_project):
    project, images, order, u = tagged_project
    sdk = sdk_factory(project=project)
    ids = {k: v["id"] for k, v in images.items()}

    def query(**body):
        body.setdefault("action", "filter")
        resp = sdk.list_image_by_tags(ListImageByTagsRequest(body=ListImageByTagsRequestBody(**body)))
        assert resp.status_code == 200
        got = [r.resource_id for r in resp.resources]
        assert resp.total_count == len(got) or "limit" in body or "offset" in body
        return resp, got

    def expect(keys):
        return [i for i in order if i in {ids[k] for k in keys}]

    resp, got = query(tags=[Tags(key="env", values=["prod"])])
    assert got == expect("AC") and resp.total_count == 2
    a = next(r for r in resp.resources if r.resource_id == ids["A"])
    assert a.resource_name == images["A"]["name"]
    assert a.resource_detail.status == "queued"
    assert kv(a.tags) == [("env", "prod"), ("team", "core")]

    assert query(tags=[Tags(key="env", values=["prod", "dev"]), Tags(key="team", values=[])])[1] == expect("AB")
    assert query(tags_any=[Tags(key="deprecated", values=["true"]), Tags(key="team", values=[""])])[1] == expect("BC")
    assert query(not_tags=[Tags(key="env", values=["prod"]), Tags(key="deprecated", values=[])])[1] == expect("ABD")
    assert query(not_tags_any=[Tags(key="env", values=["prod"]), Tags(key="nope", values=[])])[1] == expect("BD")
    # without_any_tag ignores the four lists
    assert query(without_any_tag=True, tags=[Tags(key="env", values=[])])[1] == expect("D")
    # matches: resource_name case-insensitive substring, resource_id exact
    assert query(matches=[TagKeyValue(key="resource_name", value=f"WEB-{u}".lower())])[1] == expect("AB")
    assert query(matches=[TagKeyValue(key="resource_name", value=f"alpha-web-{u}".upper())])[1] == expect("A")
    assert query(matches=[TagKeyValue(key="resource_id", value=ids["C"])])[1] == expect("C")
    assert query(matches=[TagKeyValue(key="resource_id", value=ids["C"][:-1])])[1] == []
    # combined
    assert query(tags=[Tags(key="env", values=[])], not_tags_any=[Tags(key="deprecated", values=[])],
                 matches=[TagKeyValue(key="resource_name", value="web")])[1] == expect("AB")
    # all four without filters
    assert query()[1] == order


def test_list_image_by_tags_paging_and_count(server, sdk_factory, tagged_project):
    project, images, order, _ = tagged_project
    sdk = sdk_factory(project=project)

    def call(**body):
        return sdk.list_image_by_tags(ListImageByTagsRequest(body=ListImageByTagsRequestBody(**body)))

    # limit / offset are strings in the SDK model and go out as JSON strings
    resp = call(action="filter", limit="2", offset="1")
    assert json.loads(sdk.wire.last.request.body)["limit"] == "2"
    assert resp.total_count == 4, "total_count counts every match, not the page"
    assert [r.resource_id for r in resp.resources] == order[1:3]
    resp = call(action="filter", limit="10", offset="4")
    assert resp.total_count == 4 and resp.resources == []
    resp = call(action="filter", limit="1")
    assert [r.resource_id for r in resp.resources] == order[:1]

    resp = call(action="count", tags=[Tags(key="env", values=["prod"])])
    assert resp.status_code == 200
    assert resp.total_count == 2
    assert resp.resources is None, "count returns only total_count"
    assert set(sdk.wire.last.json()) == {"total_count"}
    # count ignores limit and offset
    assert call(action="count", limit="1", offset="3").total_count == 4
    assert call(action="count", without_any_tag=True).total_count == 1

    # invalid queries are 400 IMG.0001 (structure) / the empty-list rule
    expect_error(lambda: call(action="Filter"), 400, "IMG.0001", sdk.wire)
    expect_error(lambda: call(action="filter", limit="0"), 400, "IMG.0001", sdk.wire)
    expect_error(lambda: call(action="filter", limit="1001"), 400, "IMG.0001", sdk.wire)
    expect_error(lambda: call(action="filter", offset="-1"), 400, "IMG.0001", sdk.wire)
    with pytest.raises(ClientRequestException) as info:
        call(action="filter", tags=[])
    assert info.value.status_code == 400
    with pytest.raises(ClientRequestException) as info:
        call(action="filter", matches=[TagKeyValue(key="resource_owner", value="x")])
    assert info.value.status_code == 400
    # the lists are validated even when without_any_tag is true
    with pytest.raises(ClientRequestException) as info:
        call(action="filter", without_any_tag=True, not_tags=[])
    assert info.value.status_code == 400
    with pytest.raises(ClientRequestException) as info:
        call(action="filter", tags=[Tags(key="k", values=[str(n) for n in range(11)])])
    assert info.value.status_code == 400, "at most 10 values per entry"


# ---------------------------------------------------------------------------------------------------------------
# Op 6: batch_add_or_delete_tags
# ---------------------------------------------------------------------------------------------------------------


def test_batch_add_or_delete_tags(server, sdk):
    iid = server.create_image()["id"]

    def batch(action, tags):
        body = BatchAddOrDeleteTagsRequestBody(action=action, tags=tags)
        return sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(image_id=iid, body=body))

    resp = batch("create", [ResourceTag(key="env", value="prod"), ResourceTag(key="team", value="")])
    assert resp.status_code == 204
    assert server.kv_tags(iid) == [("env", "prod"), ("team", "")]
    # upsert: same key and value is a no-op, a new value replaces the old one
    assert batch("create", [ResourceTag(key="env", value="dev"), ResourceTag(key="team", value="")]).status_code == 204
    assert server.kv_tags(iid) == [("env", "dev"), ("team", "")]
    # all-or-nothing: one invalid item rejects the whole request
    expect_error(lambda: batch("create", [ResourceTag(key="ok", value="1"), ResourceTag(key="bad key", value="1")]),
                 400, "IMG.0115", sdk.wire)
    expect_error(lambda: batch("create", [ResourceTag(key="dup", value="1"), ResourceTag(key="dup", value="2")]),
                 400, "IMG.0115", sdk.wire)
    assert server.kv_tags(iid) == [("env", "dev"), ("team", "")]
    # delete ignores the value and missing keys
    assert batch("delete", [ResourceTag(key="env", value="not-the-value"), ResourceTag(key="nope", value="")]
                 ).status_code == 204
    assert server.kv_tags(iid) == [("team", "")]
    assert batch("delete", [ResourceTag(key="team")]).status_code == 204, "value is optional on delete"
    assert server.kv_tags(iid) == []
    expect_error(lambda: batch("remove", [ResourceTag(key="x", value="")]), 400, "IMG.0001", sdk.wire)
    # `tags` must not be empty (the contract's op 6 row: 400, with IMG.0115 like the duplicate-key rule)
    expect_error(lambda: batch("create", []), 400, "IMG.0115", sdk.wire)
    expect_error(lambda: sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=MISSING_IMAGE, body=BatchAddOrDeleteTagsRequestBody(action="create", tags=[
            ResourceTag(key="k", value="v")]))), 404, "IMG.0144", sdk.wire)


# ---------------------------------------------------------------------------------------------------------------
# Ops 7, 8, 9: add_image_tag / delete_image_tag / list_image_tags
# ---------------------------------------------------------------------------------------------------------------


def test_add_image_tag_and_list_image_tags(server, sdk):
    image = server.create_image()
    iid = image["id"]

    def add(key, value):
        return sdk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
            tag=ResourceTag(key=key, value=value))))

    assert add("key1", "value1").status_code == 204
    assert add("Key1", "").status_code == 204, "keys are case-sensitive"
    assert add("a" * 36, "v" * 43).status_code == 204, "36-character key, 43-character value"
    assert add("key1", "value2").status_code == 204, "upsert"
    resp = sdk.list_image_tags(ListImageTagsRequest(image_id=iid))
    assert resp.status_code == 200
    assert kv(resp.tags) == sorted([("Key1", ""), ("a" * 36, "v" * 43), ("key1", "value2")])
    assert server.image(iid)["updated_at"] >= image["updated_at"]
    # another project's public image can be read through op 9
    pub = server.create_image(OTHER, visibility="public", tags=["shared=yes"])
    assert kv(sdk.list_image_tags(ListImageTagsRequest(image_id=pub["id"])).tags) == [("shared", "yes")]


def test_delete_image_tag_special_key(server, sdk):
    iid = server.create_image()["id"]
    key = "my key/é"
    # IMS keys can't hold ' ', '/' or 'é': add it through the native op 1, delete it through op 8
    assert sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag=key)).status_code == 204
    sdk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(tag=ResourceTag(key="env",
                                                                                                  value="prod"))))
    assert kv(sdk.list_image_tags(ListImageTagsRequest(image_id=iid)).tags) == [("env", "prod"), (key, "")]
    resp = sdk.delete_image_tag(DeleteImageTagRequest(image_id=iid, key=key))
    assert resp.status_code == 204
    assert urlsplit(sdk.wire.last.request.url).path.endswith("/tags/my%20key%2F%C3%A9")
    assert server.kv_tags(iid) == [("env", "prod")]
    # IMS ops refuse to overwrite a native key outside the IMS set
    sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag=key))
    expect_error(lambda: sdk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
        tag=ResourceTag(key=key, value="x")))), 400, "IMG.0115", sdk.wire)
    assert server.kv_tags(iid) == [("env", "prod"), (key, "")]
    assert sdk.delete_image_tag(DeleteImageTagRequest(image_id=iid, key="env")).status_code == 204
    assert sdk.delete_image_tag(DeleteImageTagRequest(image_id=iid, key=key)).status_code == 204
    assert server.kv_tags(iid) == []


# ---------------------------------------------------------------------------------------------------------------
# Op 10: list_images_tags
# ---------------------------------------------------------------------------------------------------------------


def test_list_images_tags_aggregation(server, sdk_factory):
    project = server.new_project()
    sdk = sdk_factory(project=project)
    assert sdk.list_images_tags(ListImagesTagsRequest()).tags == []
    server.create_image(project=project, tags=["env=prod", "team=b"])
    server.create_image(project=project, tags=["env=dev", "team=a"])
    key_only = server.create_image(project=project)
    sdk.glance_create_tag(GlanceCreateTagRequest(image_id=key_only["id"], tag="env"))
    server.create_image(project=project, tags=["env=prod"])
    gone = server.create_image(project=project, tags=["deleted-key"])
    assert server.request("DELETE", f"/v2/images/{gone['id']}", project=project).status_code == 204
    server.create_image(OTHER, tags=["other=1"])
    server.create_image(OTHER, visibility="public", tags=["otherpub=1"])  # op 10 covers owned images only
    resp = sdk.list_images_tags(ListImagesTagsRequest())
    assert resp.status_code == 200
    assert [(t.key, t.values) for t in resp.tags] == [("env", ["", "dev", "prod"]), ("team", ["a", "b"])]


def test_every_write_bumps_updated_at(server):
    """Contract section 2: every successful write bumps the image's updated_at (second precision), whichever op.
    One signing variant is enough here; the test waits a little over a second once."""
    sdk = Sdk(server, "hmac_sha256", OWNER)
    ops = {
        "op1 glance_create_tag": lambda i: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=i, tag="new")),
        "op2 glance_delete_tag": lambda i: sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=i, tag="old")),
        "op3 create_or_update_tags": lambda i: sdk.create_or_update_tags(CreateOrUpdateTagsRequest(
            body=AddOrUpdateTagsRequestBody(image_id=i, tag="old.changed"))),
        "op6 create": lambda i: sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
            image_id=i, body=BatchAddOrDeleteTagsRequestBody(action="create", tags=[ResourceTag(key="n", value="")]))),
        "op6 delete": lambda i: sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
            image_id=i, body=BatchAddOrDeleteTagsRequestBody(action="delete", tags=[ResourceTag(key="old")]))),
        "op7 add_image_tag": lambda i: sdk.add_image_tag(AddImageTagRequest(
            image_id=i, body=AddImageTagRequestBody(tag=ResourceTag(key="old", value="v2")))),
        "op8 delete_image_tag": lambda i: sdk.delete_image_tag(DeleteImageTagRequest(image_id=i, key="old")),
    }
    images = {name: server.create_image(tags=["old"]) for name in ops}
    time.sleep(1.1)
    stale = []
    for name, op in ops.items():
        image = images[name]
        assert op(image["id"]).status_code == 204, name
        after = server.image(image["id"])
        if not after["updated_at"] > image["updated_at"]:
            stale.append(name)
        assert after["created_at"] == image["created_at"]
    assert stale == [], f"updated_at not bumped by: {stale}"


# ---------------------------------------------------------------------------------------------------------------
# Image registry through the SDK's glance_create_image_metadata
# ---------------------------------------------------------------------------------------------------------------


def test_glance_create_image_metadata_then_tag(server, sdk):
    name = unique("sdk-img")
    body = GlanceCreateImageMetadataRequestBody(name=name, os_version="Ubuntu 22.04 server 64bit",
                                                container_format="bare", disk_format="qcow2", min_disk=1,
                                                tags=["created", "env=prod"], visibility="private")
    resp = sdk.glance_create_image_metadata(GlanceCreateImageMetadataRequest(body=body))
    assert resp.status_code == 201
    assert resp.name == name and resp.status == "queued" and resp.visibility == "private"
    assert resp.os_version == "Ubuntu 22.04 server 64bit"
    assert sorted(resp.tags) == ["created", "env=prod"]
    assert resp.owner == sdk.project
    kv_tags = sdk.list_image_tags(ListImageTagsRequest(image_id=resp.id)).tags
    assert kv(kv_tags) == [("created", ""), ("env", "prod")]


# ---------------------------------------------------------------------------------------------------------------
# Errors and their parsing by the SDK
# ---------------------------------------------------------------------------------------------------------------


def test_error_invalid_tag_key_too_long(server, sdk):
    iid = server.create_image(tags=["keep=1"])["id"]
    call = lambda: sdk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
        tag=ResourceTag(key="k" * 37, value="v"))))
    exc = expect_error(call, 400, "IMG.0115", sdk.wire)
    assert exc.request_id
    assert server.kv_tags(iid) == [("keep", "1")], "a rejected write changed nothing"
    call = lambda: sdk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
        tag=ResourceTag(key="k", value="v" * 44))))
    expect_error(call, 400, "IMG.0115", sdk.wire)
    assert server.kv_tags(iid) == [("keep", "1")]


def test_error_unknown_image(server, sdk):
    for image_id in (MISSING_IMAGE, "not-a-uuid"):
        expect_error(lambda: sdk.list_image_tags(ListImageTagsRequest(image_id=image_id)), 404, "IMG.0144", sdk.wire)
        expect_error(lambda: sdk.add_image_tag(AddImageTagRequest(image_id=image_id, body=AddImageTagRequestBody(
            tag=ResourceTag(key="k", value="v")))), 404, "IMG.0144", sdk.wire)
        expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=image_id, tag="t")), 404,
                     "IMG.0144", sdk.wire)
    # a deleted image vanishes from every view
    iid = server.create_image(tags=["x"])["id"]
    assert server.request("DELETE", f"/v2/images/{iid}").status_code == 204
    expect_error(lambda: sdk.list_image_tags(ListImageTagsRequest(image_id=iid)), 404, "IMG.0144", sdk.wire)


def test_error_missing_tag_on_delete_image_tag(server, sdk):
    iid = server.create_image(tags=["present=1"])["id"]
    expect_error(lambda: sdk.delete_image_tag(DeleteImageTagRequest(image_id=iid, key="absent")), 404, "IMG.0115",
                 sdk.wire)
    expect_error(lambda: sdk.delete_image_tag(DeleteImageTagRequest(image_id=MISSING_IMAGE, key="present")), 404,
                 "IMG.0144", sdk.wire)
    assert server.kv_tags(iid) == [("present", "1")]


def test_error_quota(server, sdk):
    iid = server.create_image()["id"]
    tags = [ResourceTag(key=f"k{n:02d}", value=str(n)) for n in range(TAGS_PER_IMAGE)]
    body = BatchAddOrDeleteTagsRequestBody(action="create", tags=tags)
    assert sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(image_id=iid, body=body)).status_code == 204
    full = server.kv_tags(iid)
    assert len(full) == TAGS_PER_IMAGE

    def add(key, value):
        return sdk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
            tag=ResourceTag(key=key, value=value))))

    expect_error(lambda: add("eleventh", "x"), 400, "IMG.0116", sdk.wire)
    expect_error(lambda: sdk.create_or_update_tags(CreateOrUpdateTagsRequest(body=AddOrUpdateTagsRequestBody(
        image_id=iid, tag="eleventh.x"))), 400, "IMG.0116", sdk.wire)
    expect_error(lambda: sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=iid, body=BatchAddOrDeleteTagsRequestBody(action="create", tags=[
            ResourceTag(key="k00", value="changed"), ResourceTag(key="eleventh", value="x")]))), 400, "IMG.0116",
        sdk.wire)
    # the native op answers 413 with the same code
    expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="eleventh")), 413,
                 "IMG.0116", sdk.wire)
    assert server.kv_tags(iid) == full, "rejected writes changed nothing"
    # re-adding an existing key never counts against the quota
    assert add("k00", "new").status_code == 204
    assert sdk.glance_create_tag(GlanceCreateTagRequest(image_id=iid, tag="k01")).status_code == 204
    assert dict(server.kv_tags(iid))["k00"] == "new"
    assert dict(server.kv_tags(iid))["k01"] == ""
    assert len(server.kv_tags(iid)) == TAGS_PER_IMAGE


def test_error_other_projects_image_is_404(server, sdk):
    """Another project's private image is invisible: 404, and its tags stay unchanged."""
    foreign = server.create_image(OTHER, tags=["secret=1"])
    fid = foreign["id"]
    expect_error(lambda: sdk.list_image_tags(ListImageTagsRequest(image_id=fid)), 404, "IMG.0144", sdk.wire)
    expect_error(lambda: sdk.add_image_tag(AddImageTagRequest(image_id=fid, body=AddImageTagRequestBody(
        tag=ResourceTag(key="k", value="v")))), 404, "IMG.0144", sdk.wire)
    expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=fid, tag="t")), 404, "IMG.0144",
                 sdk.wire)
    expect_error(lambda: sdk.delete_image_tag(DeleteImageTagRequest(image_id=fid, key="secret")), 404, "IMG.0144",
                 sdk.wire)
    assert server.kv_tags(fid, OTHER) == [("secret", "1")]


def test_error_public_image_of_other_project_is_403_for_writes(server, sdk):
    pub = server.create_image(OTHER, visibility="public", tags=["pub=1"])
    expect_error(lambda: sdk.add_image_tag(AddImageTagRequest(image_id=pub["id"], body=AddImageTagRequestBody(
        tag=ResourceTag(key="k", value="v")))), 403, "IMG.0026", sdk.wire)
    expect_error(lambda: sdk.glance_delete_tag(GlanceDeleteTagRequest(image_id=pub["id"], tag="pub")), 403,
                 "IMG.0026", sdk.wire)
    assert server.kv_tags(pub["id"], OTHER) == [("pub", "1")]


def test_error_project_not_in_scope_is_403(server, sdk_factory):
    sdk = sdk_factory(project=PROJECT_B)  # the owner's credential is not scoped to PROJECT_B
    expect_error(lambda: sdk.list_images_tags(ListImagesTagsRequest()), 403, "IMG.0026", sdk.wire)
    image = server.create_image(OTHER, tags=["b=1"])
    expect_error(lambda: sdk.add_image_tag(AddImageTagRequest(image_id=image["id"], body=AddImageTagRequestBody(
        tag=ResourceTag(key="k", value="v")))), 403, "IMG.0026", sdk.wire)
    expect_error(lambda: sdk.glance_create_tag(GlanceCreateTagRequest(image_id=image["id"], tag="t")), 403,
                 "IMG.0026", sdk.wire)
    assert server.kv_tags(image["id"], OTHER) == [("b", "1")]


def test_error_missing_permission_is_403(server, sdk_factory):
    iid = server.create_image(tags=["r=1"])["id"]
    reader = sdk_factory(READER)
    assert kv(reader.list_image_tags(ListImageTagsRequest(image_id=iid)).tags) == [("r", "1")]
    expect_error(lambda: reader.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
        tag=ResourceTag(key="k", value="v")))), 403, "IMG.0026", reader.wire)
    expect_error(lambda: reader.delete_image_tag(DeleteImageTagRequest(image_id=iid, key="r")), 403, "IMG.0026",
                 reader.wire)
    assert server.kv_tags(iid) == [("r", "1")]


def test_error_authentication_is_401(server, sdk_factory, variant):
    iid = server.create_image(tags=["a=1"])["id"]
    wrong_sk = sdk_factory(sk="SKwrong00000000000000000000000000000000")
    expect_error(lambda: wrong_sk.list_image_tags(ListImageTagsRequest(image_id=iid)), 401, "APIGW.0301",
                 wrong_sk.wire)
    expect_error(lambda: wrong_sk.add_image_tag(AddImageTagRequest(image_id=iid, body=AddImageTagRequestBody(
        tag=ResourceTag(key="k", value="v")))), 401, "APIGW.0301", wrong_sk.wire)
    unknown = sdk_factory(Identity("unknown", PROJECT_A, "-", "AKUNKNOWN000000000", "SKunknown"))
    expect_error(lambda: unknown.list_image_tags(ListImageTagsRequest(image_id=iid)), 401, "APIGW.0301",
                 unknown.wire)
    # a temporary AK without (or with the wrong) security token is refused
    no_token = Sdk(server, variant, TEMPORARY, security_token=None)
    expect_error(lambda: no_token.list_image_tags(ListImageTagsRequest(image_id=iid)), 401, "APIGW.0301",
                 no_token.wire)
    bad_token = Sdk(server, variant, TEMPORARY, security_token="not-the-token")
    expect_error(lambda: bad_token.list_image_tags(ListImageTagsRequest(image_id=iid)), 401, "APIGW.0301",
                 bad_token.wire)
    assert server.kv_tags(iid) == [("a", "1")], "a rejected write changed nothing"
