//! A case: one rule, named after it, marked contract or ims-tags choice, with what it needs from the target,
//! and the context it runs in (callers, clients, fixtures it cleans up).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use ims_tags_client::{Auth, Client, Credentials};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::http::{Caller, Http, Request, Response};
use crate::outcome::{CaseResult, Failure};
use crate::target::{Credential, Family, RUN_PROPERTY, Target, Who};

/// Where a rule comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The contract: the seeds, IMS, Glance, `contract.md`. Every target is judged on these.
    Contract,
    /// A choice of ims-tags where the contract is silent (`docs/decisions.md`); judged with `--strict`.
    Choice,
}

/// Something a case needs from the target beyond its own family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The target also serves this family.
    Serves(Family),
    /// Images with chosen attributes (names, visibility, properties, tags): `POST /v2/images`.
    Registry,
    /// This many of the owner's images to tag: created, or given with `--image`.
    Images(usize),
    /// An identity of another project.
    Other,
    /// A second project of the main identity.
    SecondProject,
    /// An identity of the owner's project without this IAM action.
    Lacking(&'static str),
    /// An identity that signs with AK/SK.
    AkSk,
    /// An AK/SK identity with a security token (a temporary credential).
    SecurityToken,
    /// A plain `http://` base URL, for bytes written to a socket.
    PlainHttp,
}

/// A case body.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = CaseResult> + 'a>>;

/// The function that runs a case.
pub type CaseFn = Rc<dyn for<'a> Fn(&'a Ctx) -> CaseFuture<'a>>;

/// One rule and the code that checks it.
#[derive(Clone)]
pub struct Case {
    /// Named after the rule: `family.operation.rule`.
    pub name: String,
    /// Contract or choice.
    pub kind: Kind,
    /// The family it judges (a target whose profile lacks it skips the case).
    pub family: Family,
    /// What else it needs.
    pub needs: Vec<Need>,
    /// The rule, in words.
    pub rule: String,
    /// The body.
    pub run: CaseFn,
}

impl Case {
    /// A contract case.
    pub fn contract<F>(name: &str, family: Family, rule: &str, run: F) -> Case
    where
        F: for<'a> Fn(&'a Ctx) -> CaseFuture<'a> + 'static,
    {
        Case {
            name: name.to_owned(),
            kind: Kind::Contract,
            family,
            needs: Vec::new(),
            rule: rule.to_owned(),
            run: Rc::new(run),
        }
    }

    /// A case that checks an ims-tags choice.
    pub fn choice<F>(name: &str, family: Family, rule: &str, run: F) -> Case
    where
        F: for<'a> Fn(&'a Ctx) -> CaseFuture<'a> + 'static,
    {
        Case { kind: Kind::Choice, ..Case::contract(name, family, rule, run) }
    }

    /// The same case with more needs.
    pub fn needs(mut self, needs: &[Need]) -> Case {
        self.needs.extend_from_slice(needs);
        self
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// Characters a path segment keeps unescaped (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` percent-encoded as one path segment (or one query value).
pub fn seg(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// An image a case made, to delete afterwards.
#[derive(Clone, Debug)]
struct Made {
    who: Who,
    id: String,
}

/// What a case runs with: the target, senders, and the fixtures it made (cleaned up after it).
pub struct Ctx {
    /// The target.
    pub target: Target,
    /// The raw HTTP sender.
    pub http: Http,
    made: RefCell<Vec<Made>>,
    given_used: RefCell<Vec<String>>,
    names: RefCell<u32>,
}

impl Ctx {
    /// A context for one case.
    pub fn new(target: &Target) -> Ctx {
        Ctx {
            target: target.clone(),
            http: Http::new(&target.base_url, target.secrets(), !target.statuses_only),
            made: RefCell::new(Vec::new()),
            given_used: RefCell::new(Vec::new()),
            names: RefCell::new(0),
        }
    }

    /// The caller `who` (fails when the target has no such identity).
    pub fn caller(&self, who: Who) -> Result<Caller, Failure> {
        let (identity, project) = self
            .target
            .identity(who)
            .ok_or_else(|| Failure::new(format!("the target has no identity for {who:?}")))?;
        Ok(Caller { identity: Some(identity), project: Some(project) })
    }

    /// The project `who` acts in.
    pub fn project(&self, who: Who) -> String {
        self.target.identity(who).map(|(_, project)| project).unwrap_or_default()
    }

    /// The owner's project.
    pub fn p1(&self) -> String {
        self.project(Who::Owner)
    }

    /// Sends `request` as `who`.
    pub async fn send(&self, who: Who, request: Request) -> Result<Response, Failure> {
        self.http.send(&self.caller(who)?, request).await
    }

    /// Sends `request` as the owner.
    pub async fn owner(&self, request: Request) -> Result<Response, Failure> {
        self.send(Who::Owner, request).await
    }

    /// Sends `request` with no credentials (only the request's own headers).
    pub async fn anonymous(&self, request: Request) -> Result<Response, Failure> {
        self.http.send(&Caller::anonymous(), request).await
    }

    /// The generated client, authenticated as `who` (AK/SK signed with `X-Project-Id`, a token, or headers).
    pub fn client(&self, who: Who) -> Result<Client, Failure> {
        let (identity, project) = self
            .target
            .identity(who)
            .ok_or_else(|| Failure::new(format!("the target has no identity for {who:?}")))?;
        let elsewhere = (project != identity.project).then(|| project.clone());
        let base = &self.target.base_url;
        Ok(match identity.credential {
            Credential::Token(token) => Client::new(base, Auth::Token { token, project_id: elsewhere }),
            Credential::AkSk(credentials) => Client::with_aksk(base, credentials, Some(project)),
            Credential::Headers(list) => {
                let mut headers = reqwest::header::HeaderMap::new();
                for (name, value) in list {
                    if elsewhere.is_some() && name.eq_ignore_ascii_case("x-project-id") {
                        continue;
                    }
                    if let (Ok(name), Ok(value)) = (
                        reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                        reqwest::header::HeaderValue::from_str(&value),
                    ) {
                        headers.insert(name, value);
                    }
                }
                if let Some(project) = elsewhere
                    && let Ok(value) = reqwest::header::HeaderValue::from_str(&project)
                {
                    headers.insert("x-project-id", value);
                }
                let http = reqwest::Client::builder().default_headers(headers).build().unwrap_or_default();
                Client::new_with_client(base, http, Auth::None)
            }
        })
    }

    /// The generated client with no credentials.
    pub fn anonymous_client(&self) -> Client {
        Client::new(&self.target.base_url, Auth::None)
    }

    /// The AK/SK identity (the owner's if it signs, else the other project's) and its credentials.
    pub fn signer(&self) -> Option<(Who, Credentials)> {
        [Who::Owner, Who::Other].into_iter().find_map(|who| {
            let (identity, _) = self.target.identity(who)?;
            identity.credential.aksk().cloned().map(|c| (who, c))
        })
    }

    /// A unique name of this run: the run prefix, `label` and a counter.
    pub fn unique_name(&self, label: &str) -> String {
        let mut counter = self.names.borrow_mut();
        *counter += 1;
        format!("{}{label}-{}", self.target.name_prefix(), *counter)
    }

    /// Creates an image as `who` with the fields of `body` (`POST /v2/images`), marked with this run's
    /// property; its `name` gets this run's prefix unless it has it (an empty name stays empty). Deleted after
    /// the case.
    pub async fn image(&self, who: Who, mut body: Value) -> Result<String, Failure> {
        let prefix = self.target.name_prefix();
        let name = match body.get("name").and_then(Value::as_str) {
            Some("") => String::new(),
            Some(name) if name.starts_with(&prefix) => name.to_owned(),
            Some(name) => format!("{prefix}{name}"),
            None => self.unique_name("image"),
        };
        body["name"] = json!(name);
        body[RUN_PROPERTY] = json!(self.target.run_id);
        let r = self.send(who, Request::new("POST", "/v2/images").json(&body)).await?;
        let doc = r.expect_json(201).map_err(|f| f.context("setup: creating an image"))?;
        let id = doc["id"].as_str().ok_or_else(|| r.fail("setup: the created image has no id"))?.to_owned();
        self.made.borrow_mut().push(Made { who, id: id.clone() });
        Ok(id)
    }

    /// Deletes `id` (made by `who` some other way) after the case, like the images of [`Ctx::image`].
    pub fn adopt(&self, who: Who, id: &str) {
        self.made.borrow_mut().push(Made { who, id: id.to_owned() });
    }

    /// An untagged image of the owner to tag: created when the target can, else the next `--image`.
    pub async fn own_image(&self) -> Result<String, Failure> {
        if self.target.creates_images() {
            return self.image(Who::Owner, json!({})).await;
        }
        let used = self.given_used.borrow().len();
        let id = self.target.images.get(used).cloned().ok_or_else(|| {
            Failure::new(format!("setup: the case needs more than the {used} images given with --image"))
        })?;
        self.given_used.borrow_mut().push(id.clone());
        Ok(id)
    }

    /// The tags of an image as `(key, value)` pairs, read as `who` through op 9 when the target serves it,
    /// else through the Glance `tags` field.
    pub async fn tags_as(&self, who: Who, image: &str) -> Result<BTreeSet<(String, String)>, Failure> {
        if self.target.serves(Family::ImsV2) {
            let path = format!("/v2/{}/images/{}/tags", seg(&self.project(who)), seg(image));
            let r = self.send(who, Request::new("GET", path)).await?;
            let body = r.expect_json(200).map_err(|f| f.context("reading the tags (op 9)"))?;
            let tags = body["tags"].as_array().ok_or_else(|| r.fail("no `tags` array"))?;
            tags.iter()
                .map(|t| match (t["key"].as_str(), t["value"].as_str()) {
                    (Some(k), Some(v)) => Ok((k.to_owned(), v.to_owned())),
                    _ => Err(r.fail(format!("a tag is not {{key, value}}: {t}"))),
                })
                .collect()
        } else {
            Ok(self.string_tags_as(who, image).await?.iter().map(|t| split_string_tag(t)).collect())
        }
    }

    /// The owner's view of an image's tags.
    pub async fn tags(&self, image: &str) -> Result<BTreeSet<(String, String)>, Failure> {
        self.tags_as(Who::Owner, image).await
    }

    /// The Glance `tags` field of an image, in the order the target gives it.
    pub async fn string_tags_as(&self, who: Who, image: &str) -> Result<Vec<String>, Failure> {
        let r = self.send(who, Request::new("GET", format!("/v2/images/{}", seg(image)))).await?;
        let doc = r.expect_json(200).map_err(|f| f.context("showing the image"))?;
        serde_json::from_value(doc["tags"].clone()).map_err(|_| r.fail("`tags` is not a list of strings"))
    }

    /// The owner's Glance `tags` field of an image.
    pub async fn string_tags(&self, image: &str) -> Result<Vec<String>, Failure> {
        self.string_tags_as(Who::Owner, image).await
    }

    /// The images the case made, as their makers see them (tags and, with the registry, `updated_at`): what
    /// a refused request must leave as it was.
    pub async fn snapshot(&self) -> Result<Vec<String>, Failure> {
        let made: Vec<Made> = self.made.borrow().clone();
        let mut seen = Vec::new();
        for image in made {
            let r =
                self.send(image.who, Request::new("GET", format!("/v2/images/{}", seg(&image.id)))).await?;
            let doc = r.expect_json(200).map_err(|f| f.context("snapshot"))?;
            let mut tags: Vec<String> = serde_json::from_value(doc["tags"].clone()).unwrap_or_default();
            tags.sort();
            seen.push(format!("{} {tags:?} {}", image.id, doc["updated_at"]));
        }
        let given: Vec<String> = self.given_used.borrow().clone();
        for image in given {
            seen.push(format!("{image} {:?}", self.tags(&image).await?));
        }
        Ok(seen)
    }

    /// Deletes the images the case made and untags the given images it used; says what it could not do.
    pub async fn clean_up(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let made: Vec<Made> = self.made.borrow_mut().drain(..).rev().collect();
        for image in made {
            let delete = Request::new("DELETE", format!("/v2/images/{}", seg(&image.id)));
            match self.send(image.who, delete.clone()).await {
                Ok(r) if r.status == 204 || r.status == 404 => {}
                Ok(r) if r.status == 403 => {
                    // A protected image: unprotect it the Glance way, then delete it.
                    let patch = Request::new("PATCH", format!("/v2/images/{}", seg(&image.id)))
                        .header("content-type", "application/openstack-images-v2.1-json-patch")
                        .json(&json!([{"op": "replace", "path": "/protected", "value": false}]));
                    let patched = self.send(image.who, patch).await.map(|r| r.status).unwrap_or(0);
                    let deleted = self.send(image.who, delete).await.map(|r| r.status).unwrap_or(0);
                    if deleted != 204 {
                        problems.push(format!(
                            "image {} left behind: delete answered {}, unprotecting {patched}",
                            image.id, r.status
                        ));
                    }
                }
                Ok(r) => {
                    problems.push(format!("image {} left behind: delete answered {}", image.id, r.status))
                }
                Err(f) => problems.push(format!("image {} left behind: {}", image.id, f.message)),
            }
        }
        let given: Vec<String> = self.given_used.borrow_mut().drain(..).collect();
        for image in given {
            if let Err(f) = self.untag(&image).await {
                problems.push(format!("image {image} keeps tags: {}", f.message));
            }
        }
        problems
    }

    /// Removes every tag of one of the owner's images, key by key (op 8).
    pub async fn untag(&self, image: &str) -> CaseResult {
        for (key, _) in self.tags(image).await? {
            let path = format!("/v2/{}/images/{}/tags/{}", seg(&self.p1()), seg(image), seg(&key));
            let r = self.owner(Request::new("DELETE", path)).await?;
            if r.status != 204 {
                return Err(r.fail("could not delete a tag"));
            }
        }
        Ok(())
    }
}

/// A string-view tag as `(key, value)`: split at the first `=`.
pub fn split_string_tag(tag: &str) -> (String, String) {
    match tag.split_once('=') {
        Some((k, v)) => (k.to_owned(), v.to_owned()),
        None => (tag.to_owned(), String::new()),
    }
}

/// `(key, value)` pairs from literals, as a set.
pub fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
