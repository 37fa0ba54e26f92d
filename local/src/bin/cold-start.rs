//! Cold starts as Lambda counts them. A Lambda Runtime API on loopback
//! serves one sample event from `events/` to a release binary started
//! afresh, `--runs` times per function; its AWS calls go to stand-ins on
//! this machine: the embedded DynamoDB (the table created, the example
//! directory saved) and, on the Runtime API's own port, Secrets Manager,
//! SES and SQS answering as AWS does. For each function it prints the init
//! (exec → first `/next`) and the first response (exec → the handler's
//! answer posted back), median and p95, and the binary's size.
//!
//! `cargo build --release --bins` first, then
//! `cargo run --release -p local --bin cold-start` (`--runs 20`,
//! `--binaries target/release`, `--only signup,staff`).

use std::{
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use clap::Parser;
use local::{TABLE_NAME, emulator::Emulator};
use routing::Routing;
use shared::{
    links::Links,
    store::{Store, table},
};
use tokio::{net::TcpListener, sync::oneshot};

#[derive(Parser)]
struct Args {
    /// Starts per function.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    binaries: PathBuf,
    /// Only these functions (comma-separated binary names).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// Each Lambda binary of the template, with the event its first request is.
const FUNCTIONS: [(&str, &str); 13] = [
    ("newsletter", "newsletter-subscribe.json"),
    ("signup", "signup-mentee.json"),
    ("routing", "admin-waiting-list.json"),
    ("routing-events", "routing-verified-mentee.json"),
    ("staff", "staff-sign-in-page.json"),
    ("matching", "pair-answer-page.json"),
    ("matching-events", "matching-run-insert.json"),
    ("reminders", "reminders-due-work.json"),
    ("mailer", "mailer-outbox-insert.json"),
    ("campaigns", "campaigns-schedule.json"),
    ("mail-events", "mail-events-delivery.json"),
    ("stats", "stats-admin.json"),
    ("stats-events", "stats-pair-accepted.json"),
];

/// The signing secret the stand-in hands out (hex, as the template's).
const SIGNING_SECRET: &str = "6b1f0c4e2a9d8b7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
const ADMIN_KEY: &str = "cle-admin-de-mesure";

/// One start being measured.
struct Start {
    event: Bytes,
    began: Instant,
    init: Option<Duration>,
    answered: Option<oneshot::Sender<Answer>>,
}

struct Answer {
    at: Instant,
    /// `response`, or the error kind the runtime reported.
    outcome: String,
    body: Bytes,
}

type Current = Arc<Mutex<Option<Start>>>;

async fn next(State(current): State<Current>) -> Response {
    let event = {
        let mut current = current.lock().expect("not poisoned");
        match current.as_mut() {
            Some(start) if start.init.is_none() => {
                start.init = Some(start.began.elapsed());
                Some(start.event.clone())
            }
            _ => None,
        }
    };
    let Some(event) = event else {
        // The runtime's second `/next`: the start is over, it waits to be killed.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 10_000;
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("mesure"),
    );
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:eu-west-3:123456789012:function:binome"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (headers, event).into_response()
}

fn finish(current: &Current, outcome: String, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let answered = current
        .lock()
        .expect("not poisoned")
        .as_mut()
        .and_then(|start| start.answered.take());
    if let Some(answered) = answered {
        let _ = answered.send(Answer { at, outcome, body });
    }
    StatusCode::ACCEPTED
}

async fn response(State(current): State<Current>, body: Bytes) -> StatusCode {
    finish(&current, "response".into(), body)
}

async fn invocation_error(
    State(current): State<Current>,
    Path(_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&current, "invocation error".into(), body)
}

async fn init_error(State(current): State<Current>, body: Bytes) -> StatusCode {
    finish(&current, "init error".into(), body)
}

/// Secrets Manager, SQS (JSON protocol, told apart by `x-amz-target`) and
/// SES v2 (REST) on one port, as AWS answers them.
async fn aws(headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let reply = match target {
        "secretsmanager.GetSecretValue" => {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let id = request["SecretId"].as_str().unwrap_or_default();
            let value = if id.contains("signing") {
                SIGNING_SECRET
            } else {
                ADMIN_KEY
            };
            serde_json::json!({"ARN": id, "Name": id, "SecretString": value, "VersionId": "1"})
        }
        "AmazonSQS.SendMessageBatch" => serde_json::json!({"Successful": [], "Failed": []}),
        "AmazonSQS.SendMessage" => serde_json::json!({"MessageId": "mesure"}),
        _ => serde_json::json!({}),
    };
    let mut response = axum::Json(reply).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

async fn ses() -> Response {
    axum::Json(serde_json::json!({"MessageId": "mesure"})).into_response()
}

struct Figures {
    init: Vec<Duration>,
    first: Vec<Duration>,
}

fn percentile(values: &mut [Duration], share: f64) -> f64 {
    values.sort_unstable();
    let rank = ((values.len() as f64 * share).ceil() as usize).clamp(1, values.len());
    values[rank - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let emulator = Emulator::in_memory().await?;
    let sdk = shared::aws::offline(&emulator.endpoint).await;
    let store = Store::new(&sdk, TABLE_NAME, None);
    table::create_if_missing(&store.client, &store.table).await?;
    let links = Links::new("https://api.binome.example", "https://binome.example");
    let routing = Routing::new(store, links, Some(ADMIN_KEY), None);
    local::save_example_directory(&routing).await?;

    let current: Current = Arc::new(Mutex::new(None));
    let api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .route("/v2/email/outbound-emails", post(ses))
        .route("/", post(aws))
        .with_state(current.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, api).await });
    let stand_ins = format!("http://{address}");
    let events = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");

    println!(
        "{:<16} {:>8} {:>11} {:>9} {:>14} {:>12}  first answer",
        "function", "size MB", "init p50", "init p95", "response p50", "response p95"
    );
    for (function, event) in FUNCTIONS {
        if !args.only.is_empty() && !args.only.iter().any(|only| only == function) {
            continue;
        }
        let binary = args.binaries.join(function);
        let size = std::fs::metadata(&binary)
            .with_context(|| format!("{}: build the release binaries first", binary.display()))?
            .len();
        let event = Bytes::from(
            std::fs::read(events.join(event)).with_context(|| format!("reading {event}"))?,
        );
        let mut figures = Figures {
            init: Vec::new(),
            first: Vec::new(),
        };
        let mut outcome = String::new();
        for _ in 0..args.runs {
            let (answered, answer) = oneshot::channel();
            let began = Instant::now();
            *current.lock().expect("not poisoned") = Some(Start {
                event: event.clone(),
                began,
                init: None,
                answered: Some(answered),
            });
            let mut child = tokio::process::Command::new(&binary)
                .env_clear()
                .envs(environment(
                    function,
                    &address.to_string(),
                    &stand_ins,
                    &emulator.endpoint,
                ))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            let answer = tokio::select! {
                answer = answer => answer?,
                exited = child.wait() => {
                    let mut said = String::new();
                    if let Some(mut stderr) = child.stderr.take() {
                        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut said).await?;
                    }
                    bail!("{function} stopped ({}) before answering: {said}", exited?);
                }
                () = tokio::time::sleep(Duration::from_secs(10)) => bail!("{function}: no answer in 10 s"),
            };
            child.kill().await?;
            if answer.outcome != "response" {
                bail!(
                    "{function}: {}: {}",
                    answer.outcome,
                    String::from_utf8_lossy(&answer.body)
                );
            }
            let init = current
                .lock()
                .expect("not poisoned")
                .take()
                .and_then(|start| start.init);
            let Some(init) = init else {
                bail!("{function}: answered without asking for an event");
            };
            figures.init.push(init);
            figures.first.push(answer.at - began);
            // Every start answers alike, or the figures mix two code paths.
            let this = summary(&answer.body);
            if !outcome.is_empty() && this != outcome {
                bail!("{function}: answered {outcome}, then {this}");
            }
            outcome = this;
        }
        println!(
            "{:<16} {:>8.1} {:>8.2} ms {:>6.2} ms {:>11.2} ms {:>9.2} ms  {}",
            function,
            size as f64 / 1_000_000.0,
            percentile(&mut figures.init, 0.5),
            percentile(&mut figures.init, 0.95),
            percentile(&mut figures.first, 0.5),
            percentile(&mut figures.first, 0.95),
            outcome,
        );
    }
    Ok(())
}

/// What the handler answered, in a few words: an HTTP status, or the
/// batch items it reported failed.
fn summary(body: &[u8]) -> String {
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(status) = answer.get("statusCode") {
        format!("HTTP {status}")
    } else if let Some(failures) = answer.get("batchItemFailures").and_then(|f| f.as_array()) {
        format!("{} batch item failure(s)", failures.len())
    } else {
        "done".into()
    }
}

/// The environment the template gives every function, with each service
/// pointed at its stand-in.
fn environment(
    function: &str,
    runtime_api: &str,
    stand_ins: &str,
    dynamodb: &str,
) -> Vec<(&'static str, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/binome"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "mesure"),
        ("AWS_REGION", "eu-west-3"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test"),
        ("AWS_ENDPOINT_URL", stand_ins),
        ("DYNAMODB_ENDPOINT", dynamodb),
        ("TABLE_NAME", TABLE_NAME),
        ("RUST_LOG", "info"),
        ("PUBLIC_BASE_URL", "https://api.binome.example"),
        ("SITE_URL", "https://binome.example"),
        (
            "SIGNING_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-3:123456789012:secret:signing",
        ),
        (
            "ADMIN_KEY_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-3:123456789012:secret:admin",
        ),
        ("NETWORK_ADMIN_EMAIL", "reseau@binome.example"),
        ("SIGNUP_RESPONSE_FLOOR_MS", "0"),
        ("MAIL_FROM", local::MAIL_FROM),
        ("SES_CONFIGURATION_SET_TRANSACTIONAL", "transactionnel"),
        ("SES_CONFIGURATION_SET_NEWSLETTER", "lettre"),
        ("MAIL_RATE_PER_SECOND", "14"),
        (
            "SEND_QUEUE_URL",
            "https://sqs.eu-west-3.amazonaws.com/123456789012/campaign-sends",
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}
