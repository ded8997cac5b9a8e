//! `/__sim/*` routes: the simulator's controls for out-of-process use.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::FaultUpdate;
use super::{lock, SimState};

type Shared = Arc<SimState>;

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route("/__sim/faults", post(faults))
        .route("/__sim/stock", post(stock))
        .with_state(state)
}

async fn stats(State(state): State<Shared>) -> Response {
    Json(lock(&state.stats).snapshot()).into_response()
}

async fn faults(State(state): State<Shared>, Json(update): Json<FaultUpdate>) -> Response {
    lock(&state.faults).apply(update);
    Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
struct StockChange {
    sku: String,
    stock_billable: Value,
}

async fn stock(State(state): State<Shared>, Json(change): Json<StockChange>) -> Response {
    if state
        .catalog_mut()
        .set_stock(&change.sku, change.stock_billable)
    {
        Json(json!({ "ok": true })).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Unknown SKU" })),
        )
            .into_response()
    }
}
