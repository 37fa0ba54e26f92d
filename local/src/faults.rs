//! Faults injected into the local stack, chosen per run: DynamoDB answering
//! as it does under load (through a proxy in front of the embedded
//! emulator, so that every client of the table sees them), the mail
//! service throttling, stream deliveries killed mid-batch. They show that
//! what we promise — nothing lost, nothing twice, no 5xx without
//! `Retry-After` — holds when dependencies fail, not only on the happy path.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// What fails, and how often (shares of calls, 0 to 1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub dynamodb: DynamoFaults,
    /// Transactional mails the file outbox fails, as a throttled SES.
    pub mail_fault_rate: f64,
    /// Stream batches whose delivery is killed at a random point (a crash,
    /// a timeout): what was done stays done, the batch comes again.
    pub stream_kill_rate: f64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        dynamodb: DynamoFaults::NONE,
        mail_fault_rate: 0.0,
        stream_kill_rate: 0.0,
    };
}

/// DynamoDB's answers under load; a faulted call is not executed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DynamoFaults {
    /// Calls answered `ThrottlingException` or
    /// `ProvisionedThroughputExceededException` (half each; half of the
    /// throttled transactions are cancelled with a `ThrottlingError` reason).
    pub throttle_rate: f64,
    /// Transactions cancelled for a `TransactionConflict`.
    pub conflict_rate: f64,
    /// Calls answered 500 `InternalServerError`.
    pub server_error_rate: f64,
    /// Added to every call.
    pub latency: Duration,
}

impl DynamoFaults {
    pub const NONE: DynamoFaults = DynamoFaults {
        throttle_rate: 0.0,
        conflict_rate: 0.0,
        server_error_rate: 0.0,
        latency: Duration::ZERO,
    };

    pub fn any(&self) -> bool {
        *self != Self::NONE
    }
}

/// How many calls went through the proxy, and how many it failed.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    pub conflicts: AtomicU64,
    pub server_errors: AtomicU64,
}

impl FaultCounts {
    /// (calls, throttled, conflicts, server errors).
    pub fn read(&self) -> (u64, u64, u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
            self.conflicts.load(Ordering::Relaxed),
            self.server_errors.load(Ordering::Relaxed),
        )
    }
}

struct Proxy {
    target: String,
    faults: DynamoFaults,
    counts: Arc<FaultCounts>,
    client: reqwest::Client,
}

/// A proxy in front of the DynamoDB endpoint `target` that fails calls as
/// `faults` says; its endpoint, its counts and its task.
pub async fn dynamodb_proxy(
    target: &str,
    faults: DynamoFaults,
) -> anyhow::Result<(String, Arc<FaultCounts>, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address: SocketAddr = listener.local_addr()?;
    let counts = Arc::new(FaultCounts::default());
    let proxy = Arc::new(Proxy {
        target: target.trim_end_matches('/').to_owned(),
        faults,
        counts: counts.clone(),
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("the proxy's client")?,
    });
    let app = axum::Router::new().fallback(relay).with_state(proxy);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "DynamoDB fault proxy stopped");
        }
    });
    Ok((format!("http://{address}"), counts, task))
}

/// The largest request the proxy relays (DynamoDB's own limit is 16 MB).
const MAX_REQUEST: usize = 16 * 1024 * 1024;

async fn relay(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    proxy.counts.calls.fetch_add(1, Ordering::Relaxed);
    if !proxy.faults.latency.is_zero() {
        tokio::time::sleep(proxy.faults.latency).await;
    }
    if let Some(fault) = draw(&proxy, &operation, &body) {
        return fault;
    }
    let mut forward = proxy
        .client
        .post(format!("{}{}", proxy.target, parts.uri.path()))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.send().await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, "the emulator did not answer the proxy");
            return StatusCode::BAD_GATEWAY.into_response();
        }
    };
    let status = answer.status();
    let headers: HeaderMap = answer.headers().clone();
    let Ok(body) = answer.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// The fault this call gets, if any: one roll, split between the kinds.
fn draw(proxy: &Proxy, operation: &str, body: &Bytes) -> Option<Response> {
    let faults = &proxy.faults;
    let mut roll: f64 = rand::random();
    let transaction = operation == "TransactWriteItems";
    if roll < faults.throttle_rate {
        proxy.counts.throttled.fetch_add(1, Ordering::Relaxed);
        // Half of the throttled transactions as DynamoDB also reports them:
        // cancelled, with a `ThrottlingError` reason.
        if transaction && roll < faults.throttle_rate / 2.0 {
            return Some(cancelled(body, "ThrottlingError"));
        }
        let kind = if roll < faults.throttle_rate / 2.0 {
            "com.amazon.coral.availability#ThrottlingException"
        } else {
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
        };
        return Some(error(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"__type": kind, "message": "The level of configured provisioned throughput for the table was exceeded."}),
        ));
    }
    roll -= faults.throttle_rate;
    if transaction && roll < faults.conflict_rate {
        proxy.counts.conflicts.fetch_add(1, Ordering::Relaxed);
        return Some(cancelled(body, "TransactionConflict"));
    }
    roll -= faults.conflict_rate;
    if roll < faults.server_error_rate {
        proxy.counts.server_errors.fetch_add(1, Ordering::Relaxed);
        return Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "Internal server error"}),
        ));
    }
    None
}

/// A transaction cancelled for `reason` on its first write, as DynamoDB
/// answers it: one reason per write.
fn cancelled(body: &Bytes, reason: &str) -> Response {
    let writes = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|request| request["TransactItems"].as_array().map(Vec::len))
        .unwrap_or(1);
    let reasons: Vec<serde_json::Value> = (0..writes)
        .map(|n| match n {
            0 => serde_json::json!({"Code": reason, "Message": "Transaction cancelled by an injected fault"}),
            _ => serde_json::json!({"Code": "None"}),
        })
        .collect();
    error(
        StatusCode::BAD_REQUEST,
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{reason}]"),
            "CancellationReasons": reasons,
        }),
    )
}

fn error(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}
