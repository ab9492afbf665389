//! Every request, observed from outside all other layers: counted and timed by OpenAPI operation id and
//! status, and, with JSON logs, written as one log line carrying its request id, operation, method, path,
//! status, latency, and the caller and project the `Caller` extractor resolved (never a credential).
//!
//! The operation is found from the request's path and method with the same route templates the router
//! serves (axum routes with `matchit`), before any layer runs, so a request refused before it reaches its
//! handler (413 for a declared body, 408, 503 on the timeout, 401) still counts under its operation.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use metrics::{Counter, Histogram, SharedString};
use utoipa::openapi::OpenApi;

use super::prometheus::{HTTP_REQUEST_DURATION, HTTP_REQUESTS};

/// The operation label of a request that matches no route and method.
pub const UNMATCHED: &str = "unmatched";

/// Routes served outside the OpenAPI document, with their operation labels.
pub const UNDOCUMENTED_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "healthz"),
    ("GET", "/readyz", "readyz"),
    ("GET", "/metrics", "metrics"),
    ("GET", "/openapi.json", "openapi_document"),
    ("GET", "/openapi-3.0.json", "openapi_document"),
    ("GET", "/swagger-ui", "swagger_ui"),
    ("GET", "/swagger-ui/", "swagger_ui"),
    ("GET", "/swagger-ui/{*file}", "swagger_ui"),
    // `delete_image_tag` for the key `action`, which the batch route's static segment shadows.
    ("DELETE", "/v2/{project_id}/images/{image_id}/tags/action", "delete_image_tag"),
];

/// Statuses whose request counters an [`Operation`] keeps at hand: every status the service answers but
/// the rarest. Others are counted through the recorder's own lookup.
const KEPT_STATUSES: [u16; 16] =
    [200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 414, 429, 431, 500, 503];

/// One operation's label and its metrics, looked up in the recorder once rather than per request (a lookup
/// hashes the metric's name and labels and formats the status).
pub struct Operation {
    label: SharedString,
    duration: OnceLock<Histogram>,
    answered: [OnceLock<Counter>; KEPT_STATUSES.len()],
}

impl Operation {
    fn new(label: SharedString) -> Operation {
        Operation { label, duration: OnceLock::new(), answered: Default::default() }
    }

    /// The operation label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Counts one request answered with `status` and records how long it took.
    fn record(&self, status: u16, elapsed: Duration) {
        let counter = || metrics::counter!(HTTP_REQUESTS, "operation" => self.label.clone(), "status" => status.to_string());
        match KEPT_STATUSES.iter().position(|kept| *kept == status) {
            Some(slot) => self.answered[slot].get_or_init(counter).increment(1),
            None => counter().increment(1),
        }
        self.duration
            .get_or_init(|| metrics::histogram!(HTTP_REQUEST_DURATION, "operation" => self.label.clone()))
            .record(elapsed.as_secs_f64());
    }
}

/// The operation of each route template and method.
pub struct Operations {
    routes: matchit::Router<Vec<(Method, Arc<Operation>)>>,
    unmatched: Operation,
}

impl Operations {
    /// The operations of `doc` and of [`UNDOCUMENTED_ROUTES`].
    pub fn new(doc: &OpenApi) -> Operations {
        let mut labels: HashMap<String, SharedString> = HashMap::new();
        let mut label = |name: &str| -> SharedString {
            labels
                .entry(name.to_owned())
                .or_insert_with(|| SharedString::from_shared(Arc::from(name)))
                .clone()
        };
        let mut by_path: HashMap<String, Vec<(Method, SharedString)>> = HashMap::new();
        for (path, item) in &doc.paths.paths {
            let methods = by_path.entry(path.clone()).or_default();
            let operations = [
                (Method::GET, &item.get),
                (Method::PUT, &item.put),
                (Method::POST, &item.post),
                (Method::DELETE, &item.delete),
                (Method::PATCH, &item.patch),
                (Method::HEAD, &item.head),
                (Method::OPTIONS, &item.options),
            ];
            for (method, operation) in operations {
                if let Some(id) = operation.as_ref().and_then(|o| o.operation_id.as_deref()) {
                    methods.push((method, label(id)));
                }
            }
        }
        for (method, path, name) in UNDOCUMENTED_ROUTES {
            let method = Method::from_bytes(method.as_bytes()).expect("a method name");
            by_path.entry((*path).to_owned()).or_default().push((method, label(name)));
        }
        // One `Operation` per label, shared by its routes (`openapi_document` has two, `delete_image_tag` too).
        let mut operations: HashMap<SharedString, Arc<Operation>> = HashMap::new();
        let mut routes = matchit::Router::new();
        for (path, methods) in by_path {
            let methods = methods
                .into_iter()
                .map(|(method, label)| {
                    let operation =
                        operations.entry(label.clone()).or_insert_with(|| Arc::new(Operation::new(label)));
                    (method, operation.clone())
                })
                .collect();
            // Both come from the router's own route table, which axum has already accepted.
            routes.insert(path, methods).expect("route templates the router accepted");
        }
        Operations { routes, unmatched: Operation::new(SharedString::const_str(UNMATCHED)) }
    }

    /// The operation of a request: its operation id, or [`UNMATCHED`]. `HEAD` counts as the `GET` it is
    /// answered by.
    pub fn find(&self, method: &Method, path: &str) -> &Operation {
        let Ok(found) = self.routes.at(path) else { return &self.unmatched };
        let methods = found.value;
        let with = |wanted: &Method| methods.iter().find(|(method, _)| method == wanted).map(|(_, o)| &**o);
        with(method)
            .or_else(|| (method == Method::HEAD).then(|| with(&Method::GET)).flatten())
            .unwrap_or(&self.unmatched)
    }
}

/// What the layers inside learn about a request for its log line: who called, and in which project.
#[derive(Debug, Default)]
pub struct RequestNote {
    caller: OnceLock<String>,
    project: OnceLock<String>,
}

impl RequestNote {
    /// The caller's name for logs (`token:<name>` or `ak:<access key>`).
    pub fn record_caller(&self, name: &str) {
        let _ = self.caller.set(name.to_owned());
    }

    /// The project the request acts in.
    pub fn record_project(&self, project: &str) {
        let _ = self.project.set(project.to_owned());
    }
}

/// What [`RequestObserver::start`] needs: the operation table and whether requests are logged.
pub struct RequestObserver {
    /// Route templates and methods to operation ids.
    pub operations: Operations,
    /// Whether each request gets a log line (JSON logs).
    pub log_requests: bool,
}

/// One request being observed, from its arrival to its answer.
pub struct Observation<'a> {
    started: Instant,
    operation: &'a Operation,
    /// With JSON logs: what the log line needs from the request.
    logged: Option<LoggedRequest>,
}

struct LoggedRequest {
    note: Arc<RequestNote>,
    request_id: String,
    method: Method,
    path: String,
}

impl RequestObserver {
    /// Starts observing `request`, whose `X-Request-Id` is `request_id`: finds its operation and, with JSON
    /// logs, leaves a [`RequestNote`] in its extensions for the caller and project.
    pub fn start(&self, request: &mut Request, request_id: &HeaderValue) -> Observation<'_> {
        let started = Instant::now();
        let operation = self.operations.find(request.method(), request.uri().path());
        let logged = self.log_requests.then(|| {
            let note = Arc::new(RequestNote::default());
            request.extensions_mut().insert(note.clone());
            LoggedRequest {
                note,
                request_id: request_id.to_str().unwrap_or("-").to_owned(),
                method: request.method().clone(),
                path: request.uri().path().to_owned(),
            }
        });
        Observation { started, operation, logged }
    }
}

impl Observation<'_> {
    /// When the request arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Counts and times the request by operation and status, and logs it when asked to.
    pub fn finish(self, response: &Response) {
        let elapsed = self.started.elapsed();
        let status = response.status().as_u16();
        self.operation.record(status, elapsed);
        if let Some(LoggedRequest { note, request_id, method, path }) = self.logged {
            tracing::info!(
                request_id,
                operation = self.operation.label(),
                method = %method,
                path,
                status,
                latency_ms = elapsed.as_micros() as f64 / 1000.0,
                caller = note.caller.get().map(String::as_str),
                project = note.project.get().map(String::as_str),
                "request"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_map_to_their_operation_ids() {
        let operations = Operations::new(&crate::app::openapi());
        let find = |method: Method, path: &str| operations.find(&method, path).label().to_owned();
        assert_eq!(find(Method::POST, "/v2/images"), "glance_create_image");
        assert_eq!(find(Method::GET, "/v2/images/x"), "glance_show_image");
        assert_eq!(find(Method::HEAD, "/v2/images/x"), "glance_show_image", "HEAD is answered by GET");
        assert_eq!(find(Method::PUT, "/v2/images/x/tags/a%2Fb"), "glance_create_tag");
        assert_eq!(find(Method::POST, "/v2/p/images/i/tags/action"), "batch_add_or_delete_tags");
        assert_eq!(find(Method::DELETE, "/v2/p/images/i/tags/action"), "delete_image_tag");
        assert_eq!(find(Method::DELETE, "/v2/p/images/i/tags/env"), "delete_image_tag");
        for (path, label) in [
            ("/healthz", "healthz"),
            ("/readyz", "readyz"),
            ("/metrics", "metrics"),
            ("/openapi.json", "openapi_document"),
            ("/openapi-3.0.json", "openapi_document"),
            ("/swagger-ui", "swagger_ui"),
        ] {
            assert_eq!(find(Method::GET, path), label, "{path}");
        }
        assert_eq!(find(Method::GET, "/swagger-ui/"), "swagger_ui");
        assert_eq!(find(Method::GET, "/swagger-ui/index.css"), "swagger_ui");
        assert_eq!(find(Method::GET, "/nowhere"), UNMATCHED);
        assert_eq!(find(Method::PATCH, "/v2/images"), UNMATCHED, "a route without this method");
    }
}
