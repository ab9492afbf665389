//! Contract section 5 as a table: every operation of the OpenAPI document, what it touches and the IAM actions
//! it needs (seed 004), called by every kind of caller. One case per caller and operation, named
//! `authz.<caller>.<operation id>`.
//!
//! Each case acts on a fresh image. A case that must be refused also proves that it changed nothing (the
//! images it made are as they were) and, for another project, that it revealed nothing of the owner's private
//! image and answered as for an image that does not exist.

use serde_json::{Value, json};

use crate::case::{Case, CaseFuture, Ctx, Need, seg};
use crate::cases::{foreign_project, missing_id};
use crate::http::{Caller, Request, Response};
use crate::outcome::{CaseResult, Failure};
use crate::target::{Family, Who};

const GET: &str = "ims:images:get";
const LIST: &str = "ims:images:list";
const UPDATE: &str = "ims:images:update";
const CREATE: &str = "ims:images:create";
const DELETE: &str = "ims:images:delete";

/// Every IAM action.
pub(crate) const ACTIONS: [&str; 5] = [GET, LIST, UPDATE, CREATE, DELETE];

/// What an operation touches, which decides what every caller but the owner gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Touches {
    /// Discovery and schemas: no credentials needed.
    Open,
    /// Makes a new image in the caller's own project.
    Create,
    /// Reads the caller's project as a whole (and public images, for some).
    List,
    /// Reads one image.
    Read,
    /// Changes one image.
    Write,
    /// Image data upload: 501 for the owner, some refusal for others.
    Upload,
}

/// The `{tag}` / `{key}` of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathTag {
    None,
    /// A tag the image does not have yet.
    New,
    /// The key of the secret tag every private image of the owner has.
    Secret,
}

/// One operation of the document.
#[derive(Clone, Copy, Debug)]
struct Row {
    id: &'static str,
    method: &'static str,
    /// The path template, exactly as in the document.
    path: &'static str,
    family: Family,
    touches: Touches,
    needs: &'static [&'static str],
    ok: u16,
    tag: PathTag,
    body: fn(&str) -> Option<Value>,
    /// For lists: whether other projects' public images are in it.
    lists_public: bool,
}

const fn row(
    id: &'static str,
    method: &'static str,
    path: &'static str,
    family: Family,
    touches: Touches,
) -> Row {
    Row {
        id,
        method,
        path,
        family,
        touches,
        needs: &[],
        ok: 200,
        tag: PathTag::None,
        body: |_| None,
        lists_public: false,
    }
}

impl Row {
    const fn needs(self, needs: &'static [&'static str]) -> Row {
        Row { needs, ..self }
    }
    const fn ok(self, ok: u16) -> Row {
        Row { ok, ..self }
    }
    const fn tag(self, tag: PathTag) -> Row {
        Row { tag, ..self }
    }
    const fn body(self, body: fn(&str) -> Option<Value>) -> Row {
        Row { body, ..self }
    }
    const fn lists_public(self) -> Row {
        Row { lists_public: true, ..self }
    }
    fn has_project(&self) -> bool {
        self.path.contains("{project_id}")
    }
    fn secured(&self) -> bool {
        self.touches != Touches::Open
    }
}

/// The authorization table, keyed by operationId (contract section 5 and seed 004).
fn table() -> Vec<Row> {
    use Family::*;
    use Touches::*;
    vec![
        row("list_versions_root", "GET", "/", Discovery, Open).ok(300),
        row("list_versions", "GET", "/versions", Discovery, Open),
        row("glance_show_image_schema", "GET", "/v2/schemas/image", Discovery, Open),
        row("glance_show_images_schema", "GET", "/v2/schemas/images", Discovery, Open),
        row("glance_create_tag", "PUT", "/v2/images/{image_id}/tags/{tag}", Native, Write)
            .needs(&[GET, UPDATE])
            .ok(204)
            .tag(PathTag::New),
        row("glance_delete_tag", "DELETE", "/v2/images/{image_id}/tags/{tag}", Native, Write)
            .needs(&[GET, UPDATE])
            .ok(204)
            .tag(PathTag::Secret),
        row("create_or_update_tags", "PUT", "/v1/cloudimages/tags", ImsV1, Write)
            .needs(&[GET, UPDATE])
            .ok(204)
            .body(|image| Some(json!({"image_id": image, "tag": "added.v"}))),
        row("list_tags", "GET", "/v1/cloudimages/tags", ImsV1, List).needs(&[LIST]).lists_public(),
        row("list_image_by_tags", "POST", "/v2/{project_id}/images/resource_instances/action", ImsV2, List)
            .needs(&[LIST])
            .body(|_| Some(json!({"action": "filter", "limit": 1000}))),
        row(
            "batch_add_or_delete_tags",
            "POST",
            "/v2/{project_id}/images/{image_id}/tags/action",
            ImsV2,
            Write,
        )
        .needs(&[UPDATE])
        .ok(204)
        .body(|_| Some(json!({"action": "create", "tags": [{"key": "added", "value": "v"}]}))),
        row("add_image_tag", "POST", "/v2/{project_id}/images/{image_id}/tags", ImsV2, Write)
            .needs(&[UPDATE])
            .ok(204)
            .body(|_| Some(json!({"tag": {"key": "added", "value": "v"}}))),
        row("delete_image_tag", "DELETE", "/v2/{project_id}/images/{image_id}/tags/{key}", ImsV2, Write)
            .needs(&[UPDATE])
            .ok(204)
            .tag(PathTag::Secret),
        row("list_image_tags", "GET", "/v2/{project_id}/images/{image_id}/tags", ImsV2, Read).needs(&[LIST]),
        row("list_images_tags", "GET", "/v2/{project_id}/images/tags", ImsV2, List).needs(&[LIST]),
        row("glance_create_image", "POST", "/v2/images", Registry, Create)
            .needs(&[CREATE])
            .ok(201)
            .body(|_| Some(json!({}))),
        row("glance_show_image", "GET", "/v2/images/{image_id}", Registry, Read).needs(&[GET]),
        row("glance_list_images", "GET", "/v2/images", Registry, List).needs(&[LIST]).lists_public(),
        row("glance_delete_image", "DELETE", "/v2/images/{image_id}", Registry, Write)
            .needs(&[DELETE])
            .ok(204),
        row("glance_upload_image_data", "PUT", "/v2/images/{image_id}/file", Registry, Upload)
            .needs(&[UPDATE])
            .ok(501),
    ]
}

/// The kinds of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The owner on its own private image.
    Owner,
    /// Another project (or the owner's credential in its second project) on the owner's private image.
    Outsider(Who),
    /// Another project on the owner's public image.
    PublicReader,
    /// The owner's project without one IAM action.
    Lacking(&'static str),
    /// A path project out of scope, an X-Project-Id out of scope, or one that differs from the path.
    WrongProject(ProjectFault),
    /// No credentials, or wrong ones.
    Anonymous(AnonymousFault),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProjectFault {
    PathOutOfScope,
    HeaderOutOfScope,
    HeaderDiffersFromPath,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AnonymousFault {
    NoCredentials,
    WrongToken,
    MalformedAuthorization,
}

impl Role {
    /// The case-name part of the role.
    fn label(self) -> String {
        match self {
            Role::Owner => "owner".into(),
            Role::Outsider(Who::OwnerElsewhere) => "second_project".into(),
            Role::Outsider(_) => "other_project".into(),
            Role::PublicReader => "other_project_on_a_public_image".into(),
            Role::Lacking(action) => format!("without_{}", action.replace(':', "_")),
            Role::WrongProject(ProjectFault::PathOutOfScope) => "path_project_out_of_scope".into(),
            Role::WrongProject(ProjectFault::HeaderOutOfScope) => "x_project_id_out_of_scope".into(),
            Role::WrongProject(ProjectFault::HeaderDiffersFromPath) => {
                "x_project_id_differs_from_the_path".into()
            }
            Role::Anonymous(AnonymousFault::NoCredentials) => "no_credentials".into(),
            Role::Anonymous(AnonymousFault::WrongToken) => "wrong_token".into(),
            Role::Anonymous(AnonymousFault::MalformedAuthorization) => "malformed_authorization".into(),
        }
    }

    /// Whether this role calls `row` at all.
    fn calls(self, row: &Row) -> bool {
        match self {
            Role::Owner | Role::Anonymous(AnonymousFault::NoCredentials) => true,
            Role::WrongProject(ProjectFault::PathOutOfScope | ProjectFault::HeaderDiffersFromPath) => {
                row.has_project()
            }
            _ => row.secured(),
        }
    }

    /// The identity a role calls as, if it is one of the target's.
    fn who(self) -> Option<Who> {
        match self {
            Role::Owner | Role::WrongProject(_) => Some(Who::Owner),
            Role::Outsider(who) => Some(who),
            Role::PublicReader => Some(Who::Other),
            Role::Lacking(action) => Some(Who::Lacking(action)),
            Role::Anonymous(_) => None,
        }
    }

    fn needs(self) -> Vec<Need> {
        match self {
            Role::Outsider(Who::OwnerElsewhere) => vec![Need::SecondProject],
            Role::Outsider(_) | Role::PublicReader => vec![Need::Other],
            Role::Lacking(action) => vec![Need::Lacking(action)],
            Role::WrongProject(ProjectFault::HeaderDiffersFromPath) => vec![Need::SecondProject],
            _ => Vec::new(),
        }
    }
}

/// What a case must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// The row's `ok` status.
    Works,
    /// An error status and code.
    Fails(u16, &'static str),
    /// Some refusal: a 4xx or 501 error.
    Refused,
}

fn expectation(role: Role, row: &Row) -> Expect {
    use Expect::*;
    use Touches::*;
    match (role, row.touches) {
        (_, Open) => Works,
        (Role::Anonymous(_), _) => Fails(401, "APIGW.0301"),
        (Role::WrongProject(_), _) => Fails(403, "IMG.0026"),
        (Role::Lacking(action), _) if row.needs.contains(&action) => Fails(403, "IMG.0026"),
        (Role::Owner | Role::Lacking(_), _) => Works,
        (Role::Outsider(_) | Role::PublicReader, Create | List) => Works,
        (Role::Outsider(_) | Role::PublicReader, Upload) => Refused,
        (Role::Outsider(_), Read | Write) => Fails(404, "IMG.0144"),
        (Role::PublicReader, Read) => Works,
        (Role::PublicReader, Write) => Fails(403, "IMG.0026"),
    }
}

fn rule(role: Role, row: &Row) -> String {
    match expectation(role, row) {
        Expect::Works => format!("{} may call {} (needs {:?})", role.label(), row.id, row.needs),
        Expect::Fails(status, code) => format!("{} calling {} gets {status} {code}", role.label(), row.id),
        Expect::Refused => format!("{} calling {} is refused with a 4xx", role.label(), row.id),
    }
}

/// Every role the table is called by.
fn roles() -> Vec<Role> {
    let mut roles = vec![
        Role::Owner,
        Role::Outsider(Who::Other),
        Role::Outsider(Who::OwnerElsewhere),
        Role::PublicReader,
    ];
    roles.extend(ACTIONS.iter().map(|a| Role::Lacking(a)));
    roles.extend([
        Role::WrongProject(ProjectFault::PathOutOfScope),
        Role::WrongProject(ProjectFault::HeaderOutOfScope),
        Role::WrongProject(ProjectFault::HeaderDiffersFromPath),
        Role::Anonymous(AnonymousFault::NoCredentials),
        Role::Anonymous(AnonymousFault::WrongToken),
        Role::Anonymous(AnonymousFault::MalformedAuthorization),
    ]);
    roles
}

pub(crate) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for role in roles() {
        for row in table() {
            if !role.calls(&row) {
                continue;
            }
            let name = format!("authz.{}.{}", role.label(), row.id);
            let run = table_case(role, row);
            let mut case = Case::contract(&name, row.family, &rule(role, &row), run).needs(&role.needs());
            if row.touches != Touches::Open && row.touches != Touches::Create && row.touches != Touches::List
            {
                case = case.needs(&[Need::Images(1)]);
            }
            if row.touches == Touches::Upload && role == Role::Owner {
                // What the upload does for the owner is the subject of the registry.upload cases.
                case = case.needs(&[Need::Registry]);
            }
            if matches!(role, Role::Outsider(_) | Role::PublicReader) {
                case = case.needs(&[Need::Registry]);
            }
            cases.push(case);
        }
    }
    cases
}

/// The body of one table case.
fn table_case(role: Role, row: Row) -> impl for<'a> Fn(&'a Ctx) -> CaseFuture<'a> {
    move |c| Box::pin(check(c, role, row))
}

/// Run-specific markers: the owner's private images are named `private` and carry `secret<run>=value<run>`.
struct Markers {
    private_name: String,
    secret_key: String,
    secret_value: String,
    public_key: String,
    own_key: String,
}

impl Markers {
    fn new(c: &Ctx) -> Markers {
        let run = &c.target.run_id;
        Markers {
            private_name: format!("{}private", c.target.name_prefix()),
            secret_key: format!("secret{run}"),
            secret_value: format!("value{run}"),
            public_key: format!("public{run}"),
            own_key: format!("own{run}"),
        }
    }
}

/// The image the case acts on: the owner's private one with the secret tag, or its public one.
async fn target_image(c: &Ctx, m: &Markers, public: bool) -> Result<String, Failure> {
    if public {
        let tags = [format!("{}=shown", m.public_key)];
        return c.image(Who::Owner, json!({"name": "public", "visibility": "public", "tags": tags})).await;
    }
    let tag = format!("{}={}", m.secret_key, m.secret_value);
    if c.target.creates_images() {
        c.image(Who::Owner, json!({"name": m.private_name, "tags": [tag]})).await
    } else {
        let image = c.own_image().await?;
        let path = format!("/v2/{}/images/{}/tags", seg(&c.p1()), seg(&image));
        let body = json!({"tag": {"key": m.secret_key, "value": m.secret_value}});
        c.owner(Request::new("POST", path).json(&body)).await?.expect(204).map_err(|f| f.context("setup"))?;
        Ok(image)
    }
}

/// The concrete request of `row` on `image` for `project`.
fn request(c: &Ctx, m: &Markers, row: &Row, project: &str, image: &str) -> Request {
    let tag = match row.tag {
        PathTag::None => String::new(),
        PathTag::New => "added".to_owned(),
        PathTag::Secret => m.secret_key.clone(),
    };
    let mut path = row
        .path
        .replace("{project_id}", &seg(project))
        .replace("{image_id}", &seg(image))
        .replace("{tag}", &seg(&tag))
        .replace("{key}", &seg(&tag));
    if row.id == "glance_list_images" {
        path.push_str("?limit=1000");
    }
    let mut body = (row.body)(image);
    if row.id == "list_image_by_tags" {
        body = Some(
            json!({"action": "filter", "limit": 1000, "matches": [{"key": "resource_name", "value": c.target.name_prefix()}]}),
        );
    }
    if row.id == "glance_create_image" {
        body = Some(json!({"name": c.unique_name("authz"), crate::target::RUN_PROPERTY: c.target.run_id}));
    }
    let mut request = Request::new(row.method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request
}

/// Who sends the case's request, and the project of its path.
fn caller(c: &Ctx, role: Role) -> Result<(Caller, String), Failure> {
    let p1 = c.p1();
    Ok(match role {
        Role::Owner => (c.caller(Who::Owner)?, p1),
        Role::Outsider(who) => (c.caller(who)?, c.project(who)),
        Role::PublicReader => (c.caller(Who::Other)?, c.project(Who::Other)),
        Role::Lacking(action) => (c.caller(Who::Lacking(action))?, c.project(Who::Lacking(action))),
        Role::WrongProject(ProjectFault::PathOutOfScope) => (c.caller(Who::Owner)?, foreign_project()),
        Role::WrongProject(ProjectFault::HeaderOutOfScope) => {
            (Caller { project: Some(foreign_project()), ..c.caller(Who::Owner)? }, p1)
        }
        Role::WrongProject(ProjectFault::HeaderDiffersFromPath) => (c.caller(Who::OwnerElsewhere)?, p1),
        Role::Anonymous(_) => (Caller::anonymous(), p1),
    })
}

/// Adds the anonymous role's wrong credentials.
fn with_fault(role: Role, request: Request) -> Request {
    match role {
        Role::Anonymous(AnonymousFault::WrongToken) => {
            request.header("x-auth-token", "not-a-token-of-this-target")
        }
        Role::Anonymous(AnonymousFault::MalformedAuthorization) => {
            request.header("authorization", "SDK-HMAC-SHA256 garbage")
        }
        _ => request,
    }
}

async fn check(c: &Ctx, role: Role, row: Row) -> CaseResult {
    let m = Markers::new(c);
    let expect = expectation(role, &row);
    let image = match row.touches {
        Touches::Read | Touches::Write | Touches::Upload => {
            target_image(c, &m, role == Role::PublicReader).await?
        }
        Touches::List if matches!(role, Role::Owner | Role::Lacking(_)) => {
            target_image(c, &m, false).await?;
            String::new()
        }
        _ => String::new(),
    };
    // The caller's own tagged image, which its lists must show.
    let own_key = match role {
        Role::Owner | Role::Lacking(_) => Some(m.secret_key.clone()),
        Role::Outsider(who) if row.touches == Touches::List => {
            c.image(who, json!({"tags": [format!("{}=mine", m.own_key)]})).await?;
            Some(m.own_key.clone())
        }
        Role::PublicReader if row.touches == Touches::List => {
            target_image(c, &m, true).await?;
            c.image(Who::Other, json!({"tags": [format!("{}=mine", m.own_key)]})).await?;
            Some(m.own_key.clone())
        }
        _ => None,
    };
    if matches!(role, Role::Outsider(_)) && row.touches == Touches::List {
        // Something of the owner's that must not be listed.
        target_image(c, &m, false).await?;
    }
    let refused = expect != Expect::Works || row.touches == Touches::Upload;
    let before = if refused { Some(c.snapshot().await?) } else { None };
    let (who, project) = caller(c, role)?;
    let r = c.http.send(&who, with_fault(role, request(c, &m, &row, &project, &image))).await?;
    if r.status >= 500 && r.status != 501 {
        return Err(r.fail("a 5xx"));
    }
    if r.status == 201
        && let Some(maker) = role.who()
        && let Some(id) = r.json().ok().and_then(|doc| doc["id"].as_str().map(str::to_owned))
    {
        // An identity without ims:images:delete cannot delete what it made: its project's owner does.
        let deleter = if matches!(maker, Who::Lacking(_)) { Who::Owner } else { maker };
        c.adopt(deleter, &id);
    }
    match expect {
        Expect::Works => {
            r.expect(row.ok)?;
            if row.touches == Touches::Upload {
                r.expect_envelope(501)?;
            }
            let marker = if role == Role::PublicReader { &m.public_key } else { &m.secret_key };
            if row.touches == Touches::Read && !r.text().contains(marker.as_str()) {
                return Err(r.fail(format!("the image read has no {marker} tag")));
            }
            if row.touches == Touches::List
                && let Some(own) = &own_key
                && !r.text().contains(own.as_str())
            {
                return Err(r.fail(format!("the list lacks the caller's own {own} tag")));
            }
            if role == Role::PublicReader
                && row.touches == Touches::List
                && row.lists_public != r.text().contains(m.public_key.as_str())
            {
                return Err(r.fail(format!("public images listed: expected {}", row.lists_public)));
            }
        }
        Expect::Refused => {
            if !((400..500).contains(&r.status) || r.status == 501) {
                return Err(r.fail("expected a 4xx or 501 refusal"));
            }
            r.expect_envelope(r.status)?;
        }
        Expect::Fails(status, code) => {
            r.expect_error(status, code)?;
        }
    }
    if matches!(role, Role::Outsider(_) | Role::PublicReader) {
        leaks(&m, &r)?;
        if matches!(role, Role::Outsider(_))
            && matches!(row.touches, Touches::Read | Touches::Write | Touches::Upload)
        {
            let missing = missing_id();
            let m2 = c.http.send(&who, request(c, &m, &row, &project, &missing)).await?;
            let shape = |r: &Response, id: &str| {
                (r.status, r.envelope().map(|(code, message)| (code, message.replace(id, "<id>"))))
            };
            if shape(&m2, &missing) != shape(&r, &image) {
                return Err(r.fail(format!(
                    "a missing image is answered differently: {} {}",
                    m2.status,
                    m2.text()
                )));
            }
        }
    }
    if let Some(before) = before {
        let after = c.snapshot().await?;
        if after != before {
            return Err(
                r.fail(format!("a refused request changed stored images or tags: {before:?} -> {after:?}"))
            );
        }
    }
    Ok(())
}

/// Nothing of the owner's private images reaches another project.
fn leaks(m: &Markers, r: &Response) -> CaseResult {
    let text = r.text();
    for secret in [&m.private_name, &m.secret_key, &m.secret_value] {
        if text.contains(secret.as_str()) {
            return Err(r.fail(format!("the owner's private {secret:?} leaked")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per operation of the checked-in document, agreeing with it on method, path and security.
    #[test]
    fn the_table_has_one_consistent_row_per_operation_of_the_document() {
        let doc: Value =
            serde_json::from_str(crate::target::CHECKED_IN_DOCUMENT).expect("the checked-in document");
        let table = table();
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let id = operation["operationId"].as_str().expect("operationId");
                seen.push(id.to_owned());
                let secured = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .is_some_and(|list| list.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
                match table.iter().find(|r| r.id == id) {
                    None => problems.push(format!("{method} {path} ({id}) has no row")),
                    Some(row) => {
                        if (row.method, row.path) != (method.to_uppercase().as_str(), path.as_str()) {
                            problems.push(format!("{id}: the table says {} {}", row.method, row.path));
                        }
                        if row.secured() != secured {
                            problems.push(format!("{id}: secured {secured} in the document"));
                        }
                    }
                }
            }
        }
        for row in &table {
            if !seen.iter().any(|id| id == row.id) {
                problems.push(format!("{} is not in the document", row.id));
            }
            assert!(row.needs.iter().all(|a| ACTIONS.contains(a)), "{}", row.id);
            assert_eq!(row.secured(), !row.needs.is_empty(), "{}: secured operations need an action", row.id);
        }
        for action in ACTIONS {
            assert!(table.iter().any(|r| r.needs.contains(&action)), "no operation needs {action}");
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
