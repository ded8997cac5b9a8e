//! HTTP client for the Cachicamo API: auth headers, timeouts, a shared request-rate limit, and
//! retries with exponential backoff and jitter for faults that may pass (timeouts, 5xx, 429
//! honouring Retry-After, truncated bodies). Nothing it logs or returns contains the token.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::model::{parse_batch_body, BodyError, InventoryItem, PriceTier};
use super::pricing::AuxData;
use super::stats::ApiStats;
use crate::config::Secret;

/// A batch of 500 SKUs answers in well under 1 MiB; a body far larger is refused, not buffered.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const AUX_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ApiError {
    #[error("could not reach the Cachicamo API: {0}")]
    Transport(String),
    #[error("the Cachicamo API did not answer within {0} s")]
    Timeout(u64),
    #[error("the Cachicamo API rejected the access token (HTTP 401); check the token in the plugin settings")]
    Unauthorized,
    #[error("the Cachicamo API refused access to this store (HTTP 403); check the store UUID in the plugin settings")]
    Forbidden,
    #[error("the Cachicamo API is rate limiting this store (HTTP 429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the Cachicamo API failed with HTTP {status}: {message}")]
    Server { status: u16, message: String },
    #[error("the Cachicamo API refused the request with HTTP {status}: {message}")]
    Client { status: u16, message: String },
    #[error("the Cachicamo API sent a malformed body: {0}")]
    Malformed(String),
    #[error("the Cachicamo API sent a body larger than {} MiB", MAX_BODY_BYTES / 1024 / 1024)]
    TooLarge,
}

impl ApiError {
    /// Faults worth another attempt; a refused token or a bad request will not heal by waiting.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Transport(_) | Self::Timeout(_) | Self::RateLimited { .. } | Self::Server { .. } | Self::Malformed(_)
        )
    }

    /// Errors that mean no request of this store can succeed, so a run should not even start.
    pub fn is_fatal_for_run(&self) -> bool {
        matches!(self, Self::Unauthorized | Self::Forbidden | Self::Transport(_) | Self::Timeout(_))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub base_url: String,
    pub access_token: Secret,
    pub store_uuid: String,
    pub timeout: Duration,
    pub attempts: usize,
    pub rate_limit: f64,
    /// First backoff delay; doubled per attempt, with jitter.
    pub min_backoff: Duration,
    /// Where each attempt's latency and outcome are recorded, for metrics.
    pub stats: Option<Arc<ApiStats>>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    opts: Arc<ClientOptions>,
    limiter: Arc<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base_url", &self.opts.base_url).finish_non_exhaustive()
    }
}

fn rate_quota(per_second: f64) -> Quota {
    // governor counts whole cells: below 1/s, space single requests out instead.
    if per_second >= 1.0 {
        let n = NonZeroU32::new(per_second.round() as u32).unwrap_or(NonZeroU32::MIN);
        Quota::per_second(n)
    } else {
        Quota::with_period(Duration::from_secs_f64(1.0 / per_second.max(0.001))).unwrap_or(Quota::per_second(NonZeroU32::MIN))
    }
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Self, ApiError> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", opts.access_token.expose()))
            .map_err(|_| ApiError::Client { status: 0, message: "the access token contains characters not allowed in a header".into() })?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let store = HeaderValue::from_str(&opts.store_uuid)
            .map_err(|_| ApiError::Client { status: 0, message: "the store UUID contains characters not allowed in a header".into() })?;
        headers.insert("X-Store-Uuid", store);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("cachicamo-sidecar/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let limiter = Arc::new(RateLimiter::direct(rate_quota(opts.rate_limit)));
        Ok(Self { http, opts: Arc::new(opts), limiter })
    }

    pub fn base_url(&self) -> &str {
        &self.opts.base_url
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.opts.min_backoff)
            .with_max_delay(Duration::from_secs(30))
            .with_max_times(self.opts.attempts.saturating_sub(1))
            .with_jitter()
    }

    /// `POST /inventories/batch/sku` for up to 500 keys, retried on transient faults.
    pub async fn batch_inventory(&self, keys: &[String], tier: PriceTier) -> Result<Vec<InventoryItem>, ApiError> {
        let body = serde_json::json!({ "sku_list": keys });
        let url = format!("{}/inventories/batch/sku?with_price=1&include_virtual=1", self.opts.base_url);
        let attempt = || async {
            let bytes = self.send(Method::POST, &url, Some(&body), self.opts.timeout).await?;
            parse_batch_body(&bytes, tier).map_err(|e| match e {
                BodyError::NotJson(m) => ApiError::Malformed(format!("not JSON: {m}")),
                BodyError::NotArray(kind) => ApiError::Malformed(format!("expected an array of items, got {kind}")),
            })
        };
        self.with_retries(attempt, "batch").await
    }

    /// One auxiliary GET, retried on transient faults; returns the JSON value.
    pub async fn get_json(&self, path: &str) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.opts.base_url);
        let attempt = || async {
            let bytes = self.send(Method::GET, &url, None, AUX_TIMEOUT).await?;
            serde_json::from_slice::<Value>(&bytes).map_err(|e| ApiError::Malformed(format!("{path}: {e}")))
        };
        self.with_retries(attempt, path).await
    }

    /// The pricing lookups, once per run. A lookup that fails is recorded, not fatal: prices that
    /// need it become item errors with this reason, while stock still syncs. A refused token or an
    /// unreachable API is returned as an error, since then no batch could succeed either.
    pub async fn fetch_aux(&self) -> Result<AuxData, ApiError> {
        let mut aux = AuxData::default();
        let paths = ["/users/configuration", "/stores/configuration", "/currencies", "/currencies/rates", "/taxes"];
        let results = futures::future::join_all(paths.iter().map(|p| self.get_json(p))).await;
        for (path, result) in paths.iter().zip(results) {
            match result {
                Ok(v) => match *path {
                    "/users/configuration" => aux.users_configuration = Some(v),
                    "/stores/configuration" => aux.stores_configuration = Some(v),
                    "/currencies" => aux.currencies = Some(v),
                    "/currencies/rates" => aux.currency_rates = Some(v),
                    _ => aux.taxes = Some(v),
                },
                Err(e) if e.is_fatal_for_run() => return Err(e),
                Err(e) => {
                    tracing::warn!(path, error = %e, "pricing lookup failed");
                    aux.failures.push(format!("{path}: {e}"));
                }
            }
        }
        Ok(aux)
    }

    async fn with_retries<T, F, Fut>(&self, attempt: F, what: &str) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        attempt
            .retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(ApiError::is_transient)
            .adjust(|e: &ApiError, next: Option<Duration>| match (e.retry_after(), next) {
                (Some(server), Some(ours)) => Some(server.max(ours)),
                (_, next) => next,
            })
            .notify(|e: &ApiError, wait: Duration| {
                tracing::info!(request = what, error = %e, wait_ms = wait.as_millis() as u64, "Cachicamo request failed, retrying");
            })
            .await
    }

    async fn send(&self, method: Method, url: &str, body: Option<&Value>, timeout: Duration) -> Result<Vec<u8>, ApiError> {
        self.limiter.until_ready().await;
        let started = std::time::Instant::now();
        let result = self.send_once(method, url, body, timeout).await;
        if let Some(stats) = &self.opts.stats {
            stats.record(started.elapsed(), result.is_ok());
        }
        result
    }

    async fn send_once(&self, method: Method, url: &str, body: Option<&Value>, timeout: Duration) -> Result<Vec<u8>, ApiError> {
        let mut req = self.http.request(method, url).timeout(timeout);
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, "application/json").json(body);
        }
        let mut resp = req.send().await.map_err(|e| transport_error(&e, timeout))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(&e, timeout))? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(bytes);
        }
        let message = error_message(&bytes);
        Err(match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited { retry_after },
            s if s.is_server_error() => ApiError::Server { status: s.as_u16(), message },
            s => ApiError::Client { status: s.as_u16(), message },
        })
    }
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout(timeout.as_secs())
    } else if e.is_decode() || e.is_body() {
        ApiError::Malformed(format!("the body was cut off ({e})"))
    } else {
        // reqwest's chain holds the URL and cause, never headers, so the token cannot leak here.
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg = format!("{msg}: {s}");
            source = s.source();
        }
        ApiError::Transport(msg)
    }
}

/// The API's `{"message": …}` or `{"error": …}`, else the start of the body.
fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(m) = v.get("message").or_else(|| v.get("error")).and_then(Value::as_str) {
            return m.chars().take(300).collect();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(200).collect();
    if text.trim().is_empty() {
        "empty body".to_owned()
    } else {
        text
    }
}
