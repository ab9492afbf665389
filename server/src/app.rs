//! The application: routes, layers and state, and the OpenAPI document built from the very same routes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::{delete, get};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{self, AppState};
use crate::auth::{Authenticator, require_identity};
use crate::body::BodyGuard;
use crate::host::HostPolicy;
use crate::layers::{LayerSettings, Layers};
use crate::ops::requests::{Operations, RequestObserver};
use crate::ops::{self, OpsSettings};
use crate::spec;

/// Routes anyone may call: discovery and schemas.
fn public_routes() -> OpenApiRouter<AppState> {
    api::discovery::routes()
}

/// Routes that need a token or an AK/SK signature.
fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(api::native_tags::routes())
        .merge(api::ims_v1::routes())
        .merge(api::ims_v2::routes())
        .merge(api::registry::routes())
}

/// The OpenAPI document of every route the server serves.
pub fn openapi() -> OpenApi {
    spec::finish(public_routes().merge(protected_routes()).into_openapi())
}

/// Settings of the HTTP layers.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Time before a request is abandoned.
    pub timeout: Duration,
    /// Body size limit, read timeout and memory budget.
    pub body: Arc<BodyGuard>,
    /// Where links point.
    pub host: Arc<HostPolicy>,
    /// Probes, metrics and the request log.
    pub ops: OpsSettings,
}

/// The complete service: the routes behind the layers.
pub fn router(state: AppState, auth: Arc<Authenticator>, settings: HttpSettings) -> Layers {
    let (public, public_doc) = public_routes().split_for_parts();
    let (protected, protected_doc) = protected_routes().split_for_parts();
    let mut doc = public_doc;
    doc.merge(protected_doc);
    let finished = spec::finish(doc);
    let observer =
        RequestObserver { operations: Operations::new(&finished), log_requests: settings.ops.log_requests };
    let doc = spec::emitted(&finished);
    let doc_3_0 = spec::downgrade::to_openapi_3_0(&doc);

    let protected = protected
        .route(
            "/v2/{project_id}/images/{image_id}/tags/action",
            delete(api::ims_v2::delete_image_tag_named_action),
        )
        .route_layer(middleware::from_fn_with_state(auth, require_identity));

    // The probes and metrics are served outside the OpenAPI document (docs/decisions.md, Operating it).
    let mut ops_routes = ops::health::routes(state.store().clone(), settings.ops.readiness_timeout);
    if let Some(handle) = settings.ops.metrics {
        ops_routes = ops_routes.merge(ops::prometheus::route(handle));
    }
    let routes = Router::new()
        .merge(public)
        .merge(protected)
        .route("/openapi-3.0.json", get(move || async move { axum::Json(doc_3_0) }))
        .merge(SwaggerUi::new("/swagger-ui").external_url_unchecked("/openapi.json", doc))
        .with_state(state)
        .merge(ops_routes);
    // The layers wrap the router as a whole rather than through `Router::layer`, which would put them
    // between the router and its method routers and lose the `Allow` header of 405 answers
    // (tokio-rs/axum#1770).
    Layers::new(
        routes,
        LayerSettings { observer, host: settings.host, timeout: settings.timeout, body: settings.body },
    )
}
