//! The simulated Cachicamo endpoints, their auth and fault-injection gate.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::faults::{BatchFault, MalformedKind, Verdict};
use super::{lock, SimState, MAX_BATCH_SKUS};

const BATCH_PATH: &str = "/inventories/batch/sku";
/// The one endpoint v1 calls without the store header.
const NO_STORE_PATH: &str = "/users/configuration";

type Shared = Arc<SimState>;

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route(BATCH_PATH, post(batch))
        .route(
            NO_STORE_PATH,
            get(|State(s): State<Shared>| reference(s, |r| &r.users_configuration)),
        )
        .route(
            "/stores/configuration",
            get(|State(s): State<Shared>| reference(s, |r| &r.stores_configuration)),
        )
        .route(
            "/currencies",
            get(|State(s): State<Shared>| reference(s, |r| &r.currencies)),
        )
        .route(
            "/currencies/rates",
            get(|State(s): State<Shared>| reference(s, |r| &r.currency_rates)),
        )
        .route(
            "/taxes",
            get(|State(s): State<Shared>| reference(s, |r| &r.taxes)),
        )
        .route(
            "/taxes/store",
            get(|State(s): State<Shared>| reference(s, |r| &r.taxes_store)),
        )
        // Only matched routes pass the gate; unknown ones are a plain 404.
        .route_layer(middleware::from_fn_with_state(state.clone(), gate))
        .fallback(|| async { message(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

async fn reference(state: Shared, pick: fn(&super::Reference) -> &Value) -> Response {
    Json(pick(&state.reference).clone()).into_response()
}

/// Counts every API request (control routes excluded) and its status.
async fn count(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let is_batch = path == BATCH_PATH && method == axum::http::Method::POST;
    lock(&state.stats).request_started(&path, is_batch);
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    lock(&state.stats).request_finished(status);
    tracing::debug!(%method, %path, status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    response
}

fn header_is(headers: &HeaderMap, name: &str, expected: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

/// Latency, rate limit, credentials, then random server errors.
async fn gate(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let latency = lock(&state.faults).latency_ms();
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let verdict = lock(&state.faults).gate();
    if let Verdict::RateLimited = verdict {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "error": "Too Many Attempts." })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let bearer = format!("Bearer {}", state.access_token);
    if !header_is(req.headers(), "authorization", &bearer) {
        return message(StatusCode::UNAUTHORIZED, "Unauthenticated.");
    }
    if req.uri().path() != NO_STORE_PATH
        && !header_is(req.headers(), "x-store-uuid", &state.store_uuid)
    {
        return message(StatusCode::FORBIDDEN, "Forbidden");
    }
    if let Verdict::ServerError = verdict {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error");
    }
    next.run(req).await
}

/// A query flag like `with_price=1`.
fn flag(query: Option<&str>, name: &str) -> bool {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .any(|(k, v)| k == name && (v == "1" || v == "true"))
}

/// The `sku_list` of a batch body, or the 4xx status and message why not.
fn parse_skus(body: &[u8]) -> Result<Vec<String>, (StatusCode, String)> {
    let bad = |text: String| (StatusCode::BAD_REQUEST, text);
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| bad("The request body must be valid JSON.".to_owned()))?;
    let list = value
        .get("sku_list")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("The sku list field is required.".to_owned()))?;
    if list.len() > MAX_BATCH_SKUS {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "Too many SKUs".to_owned()));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("The sku_list.{i} field must be a string.")))
        })
        .collect()
}

fn raw_json(body: impl Into<axum::body::Body>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Breaks the fields a client must validate.
fn wrong_types(item: &mut Value) {
    item["stock_billable"] = json!("plenty");
    if let Some(fmt) = item
        .pointer_mut("/price/amount_retail_format")
        .and_then(Value::as_object_mut)
    {
        fmt.insert("amount_float".to_owned(), json!("cheap"));
    }
}

async fn batch(State(state): State<Shared>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let skus = match parse_skus(&body) {
        Ok(skus) => skus,
        Err((status, text)) => return message(status, &text),
    };
    lock(&state.stats).batch_skus(skus.len());
    let (fault, wrong) = {
        let mut faults = lock(&state.faults);
        (faults.batch_fault(&skus), faults.wrong_type_skus())
    };
    let with_price = flag(query.as_deref(), "with_price");
    let include_virtual = flag(query.as_deref(), "include_virtual");
    let mut items = state.catalog().lookup(skus.iter().map(String::as_str));
    items.retain(|item| include_virtual || item.get("is_virtual") != Some(&Value::Bool(true)));
    for item in &mut items {
        let holds_wrong = item
            .get("sku_list")
            .and_then(Value::as_array)
            .is_some_and(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .any(|s| wrong.contains(s))
            });
        if holds_wrong {
            wrong_types(item);
        }
        if !with_price {
            if let Some(obj) = item.as_object_mut() {
                obj.remove("price");
            }
        }
    }
    let array = Value::Array(items);
    match fault {
        BatchFault::None | BatchFault::Malformed(MalformedKind::WrongTypes) => {
            Json(array).into_response()
        }
        BatchFault::Fail => message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"),
        BatchFault::Malformed(MalformedKind::Object) => {
            Json(json!({ "data": array })).into_response()
        }
        BatchFault::Malformed(MalformedKind::Truncated) => {
            let mut bytes = array.to_string().into_bytes();
            bytes.truncate(bytes.len().div_ceil(2));
            raw_json(bytes, "application/json")
        }
        BatchFault::Malformed(MalformedKind::NotJson) => raw_json(
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html; charset=UTF-8",
        ),
        BatchFault::Malformed(MalformedKind::Empty) => raw_json(Vec::new(), "application/json"),
        BatchFault::Malformed(MalformedKind::Huge) => raw_json(huge_body(&array), "application/json"),
    }
}

/// The real items followed by filler items until the body is about 50 MB: a client that
/// buffers whatever it is sent would balloon.
fn huge_body(array: &Value) -> Vec<u8> {
    const TARGET: usize = 50 * 1024 * 1024;
    let mut body = array.to_string().into_bytes();
    body.pop();
    let filler = br#"{"product_uuid":"filler","sku_list":["FILLER-NOT-REQUESTED"],"stock_billable":1,"padding":"................................................................................................................................"}"#;
    while body.len() < TARGET {
        if body.len() > 1 {
            body.push(b',');
        }
        body.extend_from_slice(filler);
    }
    body.push(b']');
    body
}

#[cfg(test)]
mod tests {
    use super::flag;

    #[test]
    fn query_flags() {
        assert!(flag(Some("with_price=1&include_virtual=1"), "with_price"));
        assert!(flag(Some("include_virtual=1"), "include_virtual"));
        assert!(!flag(Some("with_price=0"), "with_price"));
        assert!(!flag(None, "with_price"));
    }
}
