//! The delivery API: `GET /v1/deliveries?status=dead|pending|delivered` lists the calling
//! client's deliveries (the dead letters first of all: given up after the maximum age), and
//! `POST /v1/deliveries/{id}/retry` puts a dead one back in the queue.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::{DeliveryList, DeliveryQueued, KeyRefused, Problem};
use super::sessions::Client;
use super::{ApiError, AppState};
use crate::capture::record::unix_ms;
use crate::delivery::delivery_json;

/// At most this many deliveries per listing.
const PAGE: i64 = 100;

/// `GET /v1/deliveries`: the client's deliveries in one status.
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    operation_id = "list_deliveries",
    tag = "deliveries",
    security(("api_key" = [])),
    params(("status" = Option<String>, Query, description = "`dead` (the default), `pending` or `delivered`")),
    responses(
        (status = 200, description = "At most 100, oldest first", body = DeliveryList),
        KeyRefused,
        (status = 422, description = "`status` is not dead, pending or delivered", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Client(client): Client,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let status = match query.get("status").map(String::as_str) {
        None | Some("dead") => "dead",
        Some("pending") => "pending",
        Some("delivered") => "delivered",
        Some(_) => return Err(ApiError::Invalid { field: "status", problem: "expected dead, pending or delivered" }),
    };
    let rows = state.store.deliveries_of_client(&client.id, status, PAGE).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|d| {
            let mut v = delivery_json(d);
            v["session_id"] = json!(d.session_id);
            v
        })
        .collect();
    Ok(Json(json!({ "status": status, "deliveries": items })))
}

/// `POST /v1/deliveries/{id}/retry`: 202 when a dead delivery was queued again.
#[utoipa::path(
    post,
    path = "/v1/deliveries/{id}/retry",
    operation_id = "retry_delivery",
    tag = "deliveries",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The delivery's id (`Verifier-Delivery-Id`)")),
    responses(
        (status = 202, description = "Queued again", body = DeliveryQueued),
        KeyRefused,
        (status = 404, description = "No such delivery for this client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is not dead (pending or delivered)", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if id.len() > 64 {
        return Err(ApiError::NotFound);
    }
    if !state.store.retry_delivery(&id, &client.id, unix_ms()).await? {
        return match state.store.delivery_of_client(&id, &client.id).await? {
            Some(d) if d.status == "pending" => Err(ApiError::Conflict("this delivery is still being tried")),
            Some(_) => Err(ApiError::Conflict("this delivery was delivered")),
            None => Err(ApiError::NotFound),
        };
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "pending" }))))
}
