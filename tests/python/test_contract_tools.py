"""Contract checks driven by tools that read only the OpenAPI document, each against its own fresh server in
demo mode (no config file: the demo token and project the document's examples use):

* schemathesis fuzzes every operation (examples, coverage, fuzzing and stateful phases, at least 100
  generated cases per operation) and fails on any 5xx, any status or code the operation does not declare,
  and any response body that breaks the document;
* openapi-python-client, a widely used generator for another language, generates a client from both
  checked-in documents without a warning, and the 3.0 one makes real calls (with `X-Auth-Token`, not the
  generic `Authorization: Bearer`);
* Swagger UI, in Debian's chromium driven by Playwright: it loads with no network, the demo token is
  authorized, and "Try it out" + "Execute" with each operation's prefilled example succeeds.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import READY, REPO, server_binary

DEMO_TOKEN = "ims-tags-demo-token"
DEMO_PROJECT = "0000000000000000000000000000dem0"
EXAMPLE_IMAGE = "4d2c0b0e-1111-2222-3333-444455556666"
VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")


@contextlib.contextmanager
def demo_server():
    """A fresh ims-tags in demo mode on an ephemeral port; yields its base URL and stops it afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="ims-tags-demo-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_TAGS_")}
    env.update({"IMS_TAGS_LISTEN": "127.0.0.1:0", "IMS_TAGS_DATA_DIR": str(tmp / "data"), "RUST_LOG": "warn"})
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(server_binary())], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=tmp)
    try:
        deadline = time.monotonic() + 30
        base = None
        while time.monotonic() < deadline and base is None and proc.poll() is None:
            match = READY.search(log_path.read_text(errors="replace"))
            base = match.group(1) if match else None
            time.sleep(0.05)
        assert base, f"the demo server did not start:\n{log_path.read_text(errors='replace')}"
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# schemathesis
# ---------------------------------------------------------------------------------------------------------------

EXAMPLES_PER_OPERATION = 100


def test_schemathesis_finds_no_5xx_no_undeclared_status_and_no_body_breaking_the_document():
    with demo_server() as base:
        operations = sum(
            1 for item in requests.get(f"{base}/openapi.json", timeout=10).json()["paths"].values()
            for method in item if method in ("get", "put", "post", "delete", "patch"))
        cmd = [
            str(VENV_BIN / "st"), "--config-file", str(REPO / "tests/python/schemathesis.toml"),
            "run", f"{base}/openapi.json",
            "--header", f"X-Auth-Token: {DEMO_TOKEN}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_headers_conformance,response_schema_conformance",
            "--max-examples", str(EXAMPLES_PER_OPERATION),
            "--phases", "examples,coverage,fuzzing,stateful",
            "--seed", "20261130",
            "--request-timeout", "10",
            "--no-color",
        ]
        started = time.monotonic()
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir())
        elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    summary = output[output.find("SUMMARY"):] if "SUMMARY" in output else output[-3000:]
    assert run.returncode == 0, f"schemathesis found problems ({elapsed:.0f} s):\n{output[-12000:]}"
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested and int(tested.group(1)) == operations, summary
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) >= EXAMPLES_PER_OPERATION * operations, summary
    print(f"\nschemathesis: {operations} operations, {generated.group(1)} cases, {elapsed:.0f} s")


# ---------------------------------------------------------------------------------------------------------------
# openapi-python-client
# ---------------------------------------------------------------------------------------------------------------


def generate_python_client(document: Path, out: Path) -> str:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(
        [str(VENV_BIN / "openapi-python-client"), "generate", "--path", str(document), "--output-path", str(out),
         "--meta", "none", "--overwrite"],
        capture_output=True, text=True, timeout=300, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0 and (out / "client.py").is_file(), output
    assert "Warning" not in output, f"openapi-python-client warned on {document.name}:\n{output}"
    return output


def test_openapi_python_client_generates_from_both_documents_and_calls_the_server(tmp_path):
    generate_python_client(REPO / "openapi/ims-tags.json", tmp_path / "ims_tags_client_31")
    package = tmp_path / "ims_tags_generated"
    generate_python_client(REPO / "openapi/ims-tags-3.0.json", package)
    sys.path.insert(0, str(tmp_path))
    try:
        generated = importlib.import_module("ims_tags_generated")
        images = importlib.import_module("ims_tags_generated.api.images.glance_create_image")
        add_tag = importlib.import_module("ims_tags_generated.api.ims_v2_tags.add_image_tag")
        list_tags = importlib.import_module("ims_tags_generated.api.ims_v2_tags.list_image_tags")
        versions = importlib.import_module("ims_tags_generated.api.discovery.list_versions")
        models = importlib.import_module("ims_tags_generated.models")
        with demo_server() as base:
            # Generic generators send `Authorization: Bearer <token>`; ims-tags reads `X-Auth-Token`.
            client = generated.AuthenticatedClient(
                base_url=base, token=DEMO_TOKEN, prefix="", auth_header_name="X-Auth-Token")
            assert versions.sync(client=generated.Client(base_url=base)).versions[0].id.startswith("v2")
            image = images.sync(client=client, body=models.CreateImageRequest(name="from-python", tags=["gold"]))
            assert isinstance(image, models.ImageDocument), image
            assert image.name == "from-python" and image.tags == ["gold"]
            image_id = uuid.UUID(str(image.id))
            done = add_tag.sync_detailed(DEMO_PROJECT, image_id, client=client,
                                         body=models.AddImageTagRequest(tag=models.ImsTag(key="env", value="prod")))
            assert done.status_code == 204, done.content
            listed = list_tags.sync(DEMO_PROJECT, image_id, client=client)
            assert [(t.key, t.value) for t in listed.tags] == [("env", "prod"), ("gold", "")]
            # A documented error parses into the generated ErrorResponse model.
            missing = list_tags.sync_detailed(DEMO_PROJECT, uuid.uuid4(), client=client)
            assert missing.status_code == 404 and missing.parsed.error.code == "IMG.0144", missing.content
            bearer = generated.AuthenticatedClient(base_url=base, token=DEMO_TOKEN)
            refused = list_tags.sync_detailed(DEMO_PROJECT, image_id, client=bearer)
            assert refused.status_code == 401, "the generic Bearer default is not how ims-tags authenticates"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("ims_tags_generated")]:
            del sys.modules[name]


# ---------------------------------------------------------------------------------------------------------------
# Swagger UI in Debian's chromium, driven by Playwright (no browser download)
# ---------------------------------------------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The operations in the order of the document's walk-through: the example image is created first, tagged,
# read, untagged, and deleted last. Each with the status its prefilled example must answer.
TRY_IT_OUT = [
    ("discovery", "list_versions_root", 300),
    ("discovery", "list_versions", 200),
    ("discovery", "glance_show_image_schema", 200),
    ("discovery", "glance_show_images_schema", 200),
    ("images", "glance_create_image", 201),
    ("images", "glance_show_image", 200),
    ("images", "glance_list_images", 200),
    ("native-tags", "glance_create_tag", 204),
    ("ims-v1-tags", "create_or_update_tags", 204),
    ("ims-v1-tags", "list_tags", 200),
    ("ims-v2-tags", "add_image_tag", 204),
    ("ims-v2-tags", "batch_add_or_delete_tags", 204),
    ("ims-v2-tags", "list_image_by_tags", 200),
    ("ims-v2-tags", "list_image_tags", 200),
    ("ims-v2-tags", "list_images_tags", 200),
    ("ims-v2-tags", "delete_image_tag", 204),
    ("native-tags", "glance_delete_tag", 204),
    # Out of scope by design: the documented answer to the owner is 501.
    ("images", "glance_upload_image_data", 501),
    ("images", "glance_delete_image", 204),
]


def test_swagger_ui_try_it_out_with_every_prefilled_example():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing (scripts/python-tests installs Debian's chromium)", pytrace=False)
    with demo_server() as base:
        document = requests.get(f"{base}/openapi.json", timeout=10).json()
        documented = {op["operationId"] for item in document["paths"].values() for op in item.values()}
        assert documented == {op for _, op, _ in TRY_IT_OUT}, "every operation is tried"
        outside = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page()

                def offline(route):
                    if route.request.url.startswith(base):
                        route.continue_()
                    else:
                        outside.append(route.request.url)
                        route.abort()

                page.route("**/*", offline)
                page.set_default_timeout(15_000)
                page.goto(f"{base}/swagger-ui/")
                page.wait_for_selector(".opblock-summary")
                # Authorize with the demo token; the AK/SK scheme offers no input box.
                page.click(".auth-wrapper .authorize")
                modal = page.locator(".modal-ux")
                modal.wait_for()
                assert modal.locator("input").count() == 1, "one input box: the token"
                assert "unsupported scheme" in modal.inner_text(), "AK/SK is shown as not pasteable"
                token_box = modal.locator(".auth-container").filter(has=page.locator("input"))
                token_box.locator("input").fill(DEMO_TOKEN)
                token_box.locator("button.modal-btn.auth.authorize").click()
                # A user who also presses the AK/SK scheme's Authorize button sends no Authorization header
                # with it (there is nothing to send), so the token keeps working.
                aksk_box = modal.locator(".auth-container").filter(has_text="unsupported scheme")
                aksk_box.locator("button.modal-btn.auth.authorize").click()
                modal.locator("button.close-modal").click()
                sent = []
                page.on("request", lambda r: sent.append(r.headers)
                        if ("/v2/" in r.url or "/v1/" in r.url) and "/v2/schemas/" not in r.url else None)
                failures = []
                for tag, operation_id, expected in TRY_IT_OUT:
                    block = page.locator(f"#operations-{tag}-{operation_id}")
                    block.locator(".opblock-summary").first.click()
                    block.locator(".try-out__btn").click()
                    block.locator("button.execute").click()
                    status_cell = block.locator(".live-responses-table .response .response-col_status").first
                    status_cell.wait_for()
                    status = status_cell.inner_text().strip()
                    if status != str(expected):
                        body = block.locator(".live-responses-table .response-col_description").first.inner_text()
                        failures.append(f"{operation_id}: {status} (expected {expected}) {body[:300]}")
                    block.locator(".opblock-summary").first.click()
                assert not failures, "\n".join(failures)
                assert sent and all(h.get("x-auth-token") == DEMO_TOKEN for h in sent), "the token is sent"
                assert not any("authorization" in h for h in sent), "no Authorization header is sent"
            finally:
                browser.close()
        assert outside == [], f"Swagger UI tried to reach the network: {outside}"
