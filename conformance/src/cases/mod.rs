//! Every case, by family, and the helpers they share.

use std::future::Future;

use ims_tags_client::{Error, ResponseValue, types};
use serde_json::Value;

use crate::case::{Case, Ctx, seg};
use crate::http::{Request, Response};
use crate::outcome::Failure;
use crate::target::Who;

/// Declares a case: `case!(contract|choice, "name", Family, function, "rule", needs...)`.
macro_rules! case {
    ($kind:ident, $name:literal, $family:ident, $f:path, $rule:literal $(, $need:expr)* $(,)?) => {
        $crate::case::Case::$kind($name, $crate::target::Family::$family, $rule, |c| Box::pin($f(c)))
            .needs(&[$($need),*])
    };
}

mod aksk;
mod authz;
mod discovery;
mod errors;
mod ims_v1;
mod ims_v2;
mod isolation;
mod native;
mod query;
mod registry;
mod tags;

/// Every case, in the order a run reports them.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(discovery::cases());
    cases.extend(native::cases());
    cases.extend(registry::cases());
    cases.extend(ims_v1::cases());
    cases.extend(ims_v2::cases());
    cases.extend(query::cases());
    cases.extend(tags::cases());
    cases.extend(errors::cases());
    cases.extend(isolation::cases());
    cases.extend(aksk::cases());
    cases.extend(authz::cases());
    cases
}

/// A generated-client call: the value, or a failure naming the operation and the answer.
pub(crate) async fn call<T>(
    what: &str,
    future: impl Future<Output = Result<ResponseValue<T>, Error<types::ErrorResponse>>>,
) -> Result<T, Failure> {
    match future.await {
        Ok(value) => Ok(value.into_inner()),
        Err(error) => Err(client_failure(what, error).await),
    }
}

/// A generated-client call that must fail: its status and error code.
pub(crate) async fn call_error<T: std::fmt::Debug>(
    what: &str,
    future: impl Future<Output = Result<ResponseValue<T>, Error<types::ErrorResponse>>>,
) -> Result<(u16, String), Failure> {
    match future.await {
        Ok(value) => Err(Failure::new(format!(
            "{what}: expected an error, got {} {:?}",
            value.status().as_u16(),
            value.into_inner()
        ))),
        Err(Error::ErrorResponse(response)) => {
            Ok((response.status().as_u16(), response.into_inner().error.code))
        }
        Err(Error::UnexpectedResponse(response)) => Ok((response.status().as_u16(), String::new())),
        Err(other) => Err(client_failure(what, other).await),
    }
}

/// A client error as a failure, with the answer when there is one.
pub(crate) async fn client_failure(what: &str, error: Error<types::ErrorResponse>) -> Failure {
    let message = match error {
        Error::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let body = response.into_inner();
            format!("{what}: answered {status} {} {}", body.error.code, body.error.message)
        }
        Error::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            format!("{what}: answered {status} {body}")
        }
        other => format!("{what}: {other}"),
    };
    Failure::new(message)
}

/// `/v2/images/{image}/tags/{segment}` with the segment sent as given (already encoded).
pub(crate) fn native_path(image: &str, raw_segment: &str) -> String {
    format!("/v2/images/{}/tags/{raw_segment}", seg(image))
}

/// `/v2/{project}/images/{image}/tags` of `who`.
pub(crate) fn v2_tags_path(ctx: &Ctx, who: Who, image: &str) -> String {
    format!("/v2/{}/images/{}/tags", seg(&ctx.project(who)), seg(image))
}

/// Adds a native tag as the owner (op 1, raw), failing unless 204.
pub(crate) async fn put_native(ctx: &Ctx, image: &str, tag: &str) -> Result<(), Failure> {
    let r = ctx.owner(Request::new("PUT", native_path(image, &seg(tag)))).await?;
    r.expect(204).map(|_| ()).map_err(|f| f.context(format!("setup: adding the tag {tag:?}")))
}

/// Adds an IMS tag as the owner (op 7, raw).
pub(crate) async fn add_v2(ctx: &Ctx, image: &str, key: &str, value: &str) -> Result<Response, Failure> {
    let body = serde_json::json!({"tag": {"key": key, "value": value}});
    ctx.owner(Request::new("POST", v2_tags_path(ctx, Who::Owner, image)).json(&body)).await
}

/// Adds `n` tags `prefix0`, `prefix1`, ... with the operation the target serves (op 1, else op 6).
pub(crate) async fn fill(ctx: &Ctx, image: &str, prefix: &str, n: usize) -> Result<(), Failure> {
    if n == 0 {
        return Ok(());
    }
    if ctx.target.serves(crate::target::Family::Native) {
        for i in 0..n {
            put_native(ctx, image, &format!("{prefix}{i}")).await?;
        }
        return Ok(());
    }
    let tags: Vec<Value> =
        (0..n).map(|i| serde_json::json!({"key": format!("{prefix}{i}"), "value": ""})).collect();
    let body = serde_json::json!({"action": "create", "tags": tags});
    let r = ctx
        .owner(Request::new("POST", format!("{}/action", v2_tags_path(ctx, Who::Owner, image))).json(&body))
        .await?;
    r.expect(204).map(|_| ()).map_err(|f| f.context("setup: adding tags (op 6)"))
}

/// An ID no image has.
pub(crate) fn missing_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A project id no identity is scoped to.
pub(crate) fn foreign_project() -> String {
    format!("f0{}", uuid::Uuid::new_v4().simple())[..32].to_owned()
}
