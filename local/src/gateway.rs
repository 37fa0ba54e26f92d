//! API Gateway on one port: each request is matched against the route keys of
//! every function, turned into the payload v2 event Lambda would receive, and
//! handed to that function's handler.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use axum::{
    body::{Body as AxumBody, to_bytes},
    http::{Request as HttpRequest, StatusCode},
    response::{IntoResponse, Response as AxumResponse},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use lambda_http::{Body, Request, Response};

/// API Gateway's own limit on a request body.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// The API's throttling, as the template sets the HTTP API's default route
/// (`ApiRateLimit`, `ApiBurstLimit`): past it, 429 with `Retry-After`.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub rate_per_second: u32,
    pub burst: u32,
}

impl Throttle {
    /// The template's defaults.
    pub const TEMPLATE: Throttle = Throttle {
        rate_per_second: 2000,
        burst: 5000,
    };

    pub fn limiter(self) -> Arc<Limiter> {
        let rate = std::num::NonZeroU32::new(self.rate_per_second.max(1)).expect("at least 1");
        let burst = std::num::NonZeroU32::new(self.burst.max(1)).expect("at least 1");
        Arc::new(governor::RateLimiter::direct(
            governor::Quota::per_second(rate).allow_burst(burst),
        ))
    }
}

pub type Limiter = governor::DefaultDirectRateLimiter;

/// What a throttled client receives, as API Gateway answers it.
fn too_many_requests(retry_after: std::time::Duration) -> AxumResponse {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let error = shared::http::ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "Trop de demandes en même temps : réessayez dans quelques secondes.",
    );
    let mut response = into_axum(error.respond());
    response.headers_mut().insert(
        "retry-after",
        seconds.max(1).to_string().parse().expect("digits"),
    );
    response
}

pub type Handler =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> + Send + Sync>;

/// A route key ("GET /v1/things/{id}") served by a handler.
#[derive(Clone)]
pub struct Route {
    pub key: &'static str,
    pub handler: Handler,
}

impl Route {
    fn method(&self) -> &str {
        self.key.split_once(' ').map_or("", |(method, _)| method)
    }

    fn pattern(&self) -> &str {
        self.key.split_once(' ').map_or("", |(_, path)| path)
    }

    /// The path parameters when `path` matches this route.
    fn matches(&self, method: &str, path: &str) -> Option<HashMap<String, String>> {
        if self.method() != method {
            return None;
        }
        let pattern: Vec<&str> = self.pattern().split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        if pattern.len() != actual.len() {
            return None;
        }
        let mut parameters = HashMap::new();
        for (expected, got) in pattern.iter().zip(&actual) {
            match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !got.is_empty() => {
                    parameters.insert(name.to_owned(), (*got).to_owned());
                }
                _ if expected == got => {}
                _ => return None,
            }
        }
        Some(parameters)
    }
}

pub async fn dispatch(
    routes: Arc<Vec<Route>>,
    limiter: Arc<Limiter>,
    request: HttpRequest<AxumBody>,
) -> AxumResponse {
    if let Err(not_until) = limiter.check() {
        let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
        return too_many_requests(not_until.wait_time_from(now));
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    if method == "GET" && path == "/v1/health" {
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            r#"{"status":"ok"}"#,
        )
            .into_response();
    }
    let Some((route, parameters)) = routes.iter().find_map(|route| {
        route
            .matches(&method, &path)
            .map(|parameters| (route, parameters))
    }) else {
        return into_axum(shared::http::ApiError::not_found().respond());
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAYLOAD).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large").into_response();
    };
    let event = payload_v2(route.key, &parts, &path, parameters, &bytes);
    match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => into_axum((route.handler)(request).await),
        Err(error) => {
            tracing::error!(%error, "request could not be turned into a Lambda event");
            StatusCode::BAD_REQUEST.into_response()
        }
    }
}

/// The API Gateway HTTP API (payload format 2.0) event for this request.
fn payload_v2(
    route_key: &str,
    parts: &axum::http::request::Parts,
    path: &str,
    path_parameters: HashMap<String, String>,
    body: &[u8],
) -> serde_json::Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or_default();
        let joined = match headers.get(name.as_str()).and_then(|v| v.as_str()) {
            Some(previous) => format!("{previous},{value}"),
            None => value.to_owned(),
        };
        headers.insert(name.as_str().to_owned(), joined.into());
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        query
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let query: HashMap<String, String> = query.into_iter().map(|(k, v)| (k, v.join(","))).collect();
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let now = chrono::Utc::now();
    serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": query,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

fn into_axum(response: Response<Body>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(key: &'static str) -> Route {
        Route {
            key,
            handler: Arc::new(|_| Box::pin(async { Response::new(Body::Empty) })),
        }
    }

    #[test]
    fn routes_match_method_path_and_parameters() {
        let r = route("POST /v1/association/requests/{id}/decline");
        let parameters = r
            .matches("POST", "/v1/association/requests/abc/decline")
            .unwrap();
        assert_eq!(parameters["id"], "abc");
        assert!(
            r.matches("GET", "/v1/association/requests/abc/decline")
                .is_none()
        );
        assert!(
            r.matches("POST", "/v1/association/requests//decline")
                .is_none()
        );
        assert!(r.matches("POST", "/v1/association/requests/abc").is_none());
        assert!(
            route("POST /v1/newsletter")
                .matches("POST", "/v1/newsletter")
                .unwrap()
                .is_empty()
        );
    }
}
