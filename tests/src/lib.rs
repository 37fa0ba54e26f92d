//! The test harness: a fresh table per test on either emulator, a log of the
//! DynamoDB calls each request makes, the sample events of `events/`, and
//! moto's server (started once per test process, stopped with it).

use std::{
    collections::HashMap,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{Intercept, context::BeforeTransmitInterceptorContextRef},
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use local::{emulator::Emulator, streams::StreamReader};

pub mod spike;
use shared::{
    keyring::Keyring,
    store::{Store, keys, table},
};

/// The network admins' key in handler tests.
pub const ADMIN_KEY: &str = "cle-admin-de-test";

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A fixed signing secret, so that tests can mint tokens the handlers accept.
pub fn keyring() -> Keyring {
    Keyring::from_hex(&"5e".repeat(32)).expect("a valid test secret")
}

/// The names of the DynamoDB operations a client made, in order.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// The calls so far; the log starts again empty.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().expect("call log lock"))
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    // Once per HTTP round trip; DynamoDB names the operation in X-Amz-Target.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.0.lock().expect("call log lock").push(operation);
        Ok(())
    }
}

/// Which emulator stands in for DynamoDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// dynoxide, embedded: one fresh in-memory instance per test.
    Embedded,
    /// moto's server: one per test process, one fresh table per test.
    Moto,
}

/// A table of its own for one test, with the log of its calls.
pub struct TestTable {
    pub store: Store,
    pub calls: CallLog,
    /// The embedded emulator, alive as long as the test.
    emulator: Option<Emulator>,
}

impl TestTable {
    pub async fn new(backend: Backend) -> Self {
        let (endpoint, emulator) = match backend {
            Backend::Embedded => {
                let emulator = Emulator::in_memory()
                    .await
                    .expect("embedded DynamoDB starts");
                (emulator.endpoint.clone(), Some(emulator))
            }
            Backend::Moto => (moto().endpoint.clone(), None),
        };
        let sdk = shared::aws::offline(&endpoint).await;
        let calls = CallLog::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build();
        let store = Store {
            client: aws_sdk_dynamodb::Client::from_conf(config),
            table: format!("binome-{}", unique_suffix()),
        };
        table::create_if_missing(&store.client, &store.table)
            .await
            .expect("the table is created");
        calls.take();
        Self {
            store,
            calls,
            emulator,
        }
    }

    /// Every record of the table's stream so far, in batches of `batch`
    /// as an event source mapping delivers them (embedded emulator only).
    pub async fn stream_batches(&self, batch: usize) -> Vec<Event> {
        let emulator = self
            .emulator
            .as_ref()
            .expect("the embedded emulator keeps a stream");
        let reader = StreamReader::open(emulator.db.clone(), &self.store.table)
            .await
            .expect("the stream opens");
        let mut batches = Vec::new();
        let mut position: Option<String> = None;
        loop {
            let event = reader
                .read_after(position.as_deref(), batch)
                .await
                .expect("stream records");
            let Some(last) = event.records.last() else {
                return batches;
            };
            position = last.change.sequence_number.clone();
            batches.push(event);
        }
    }

    /// Every item of the table as stored (tests only: a Scan, not counted).
    async fn raw_items(&self) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        // Page after page: a scan answers 1 MB at most.
        let items = self
            .store
            .client
            .scan()
            .table_name(&self.store.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .expect("scan");
        self.calls.take();
        items
    }

    /// Stores a JSON item as it is.
    pub async fn put(&self, item: &serde_json::Value) {
        self.store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(serde_dynamo::to_item(item).unwrap()))
            .send()
            .await
            .unwrap();
    }

    /// Every item of the table, as JSON.
    pub async fn items(&self) -> Vec<serde_json::Value> {
        self.raw_items()
            .await
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).expect("items map to JSON"))
            .collect()
    }

    /// The items whose sort key starts with `prefix`.
    pub async fn items_with_sort_prefix(&self, prefix: &str) -> Vec<serde_json::Value> {
        self.items()
            .await
            .into_iter()
            .filter(|item| item["sk"].as_str().is_some_and(|sk| sk.starts_with(prefix)))
            .collect()
    }

    /// Every outbox mail, sent or not.
    pub async fn outbox(&self) -> Vec<serde_json::Value> {
        self.items_with_sort_prefix(keys::OUTBOX_PREFIX).await
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestTable {
    /// The outbox mails of the table as a stream batch of INSERT records, as
    /// the event source mapping would deliver them (any emulator).
    pub async fn outbox_insert_records(&self) -> Event {
        self.stream_records("INSERT", |sk| sk.starts_with(keys::OUTBOX_PREFIX))
            .await
    }

    /// The matching runs of the table as INSERT records (what starts them).
    pub async fn run_insert_records(&self) -> Event {
        self.stream_records("INSERT", |sk| sk == keys::sort::RUN)
            .await
    }

    /// The profiles of the table as MODIFY records (what verification writes).
    pub async fn profile_records(&self) -> Event {
        self.stream_records("MODIFY", |sk| sk == keys::sort::PROFILE)
            .await
    }

    /// The items whose sort key passes `select`, as a stream batch of `event_name` records.
    async fn stream_records(&self, event_name: &str, select: impl Fn(&str) -> bool) -> Event {
        let items = self.raw_items().await;
        let mut event = Event::default();
        for (sequence, item) in items
            .iter()
            .filter(|item| {
                item.get("sk")
                    .and_then(|sk| sk.as_s().ok())
                    .is_some_and(|sk| select(sk))
            })
            .enumerate()
        {
            let mut record = EventRecord::default();
            record.event_name = event_name.into();
            record.event_id = format!("event-{sequence}");
            record.event_source = Some("aws:dynamodb".into());
            record.change.keys = serde_dynamo::Item::from(HashMap::from_iter(
                ["pk", "sk"].map(|name| (name.to_owned(), item[name].clone())),
            ));
            record.change.new_image = serde_dynamo::Item::from(item.clone());
            record.change.sequence_number = Some(format!("{:024}", sequence + 1));
            event.records.push(record);
        }
        event
    }
}

/// The sample mentee's sign-up body (address in mixed case).
pub fn mentee_body() -> serde_json::Value {
    let mut body = event_body("signup-mentee.json");
    body["email"] = "Ines.Benali@Exemple.fr".into();
    body
}

/// A 14-year-old with a guardian and a sensitive group.
pub fn minor_body() -> serde_json::Value {
    let mut body = mentee_body();
    let fourteen = chrono::Utc::now().date_naive() - chrono::Duration::days(14 * 365 + 100);
    body["birth_date"] = fourteen.format("%Y-%m-%d").to_string().into();
    body["situation"] = "collegien".into();
    body["email"] = "sami.collegien@exemple.fr".into();
    body["guardian"] = serde_json::json!({"name": "Nadia Haddad", "email": "nadia.haddad@exemple.fr", "consent": true});
    body["priority_groups"] = serde_json::json!(["qpv", "handicap"]);
    body["sensitive_consent"] = true.into();
    body
}

pub fn mentor_body() -> serde_json::Value {
    event_body("signup-mentor.json")
}

/// The JSON body of a sample event.
pub fn event_body(name: &str) -> serde_json::Value {
    serde_json::from_str(event(name)["body"].as_str().expect("a sample with a body"))
        .expect("a JSON body")
}

/// The tokens of the links to `path` in the outbox, newest first.
pub async fn link_tokens(table: &TestTable, path: &str) -> Vec<String> {
    let mut mails = table.outbox().await;
    mails.sort_by_key(|m| m["sk"].as_str().unwrap_or_default().to_owned());
    mails
        .iter()
        .rev()
        .flat_map(|mail| {
            mail["mail"]["params"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.values())
        })
        .filter_map(serde_json::Value::as_str)
        .filter_map(|url| url.split_once(&format!("{path}?token=")))
        .map(|(_, token)| token.to_owned())
        .collect()
}

/// The token of the newest link to `path` in the outbox.
pub async fn link_token(table: &TestTable, path: &str) -> String {
    link_tokens(table, path)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no link to {path} in the outbox"))
}

/// A sample event from `events/`, with the changes a test makes to it.
pub fn event(name: &str) -> serde_json::Value {
    let path = root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An API Gateway payload v2 event turned into the request a handler gets,
/// exactly as the Lambda runtime does it.
pub fn api_request(event: &serde_json::Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// Sets the `token` query parameter of a sample event.
pub fn with_token(mut event: serde_json::Value, token: &str) -> serde_json::Value {
    event["rawQueryString"] = format!("token={token}").into();
    event["queryStringParameters"] = serde_json::json!({ "token": token });
    event
}

/// Sets the JSON body of a sample event.
pub fn with_body(mut event: serde_json::Value, body: &serde_json::Value) -> serde_json::Value {
    event["body"] = body.to_string().into();
    event
}

/// The sample event sent with an association's (or the admins') key.
pub fn as_association(mut event: serde_json::Value, key: &str) -> serde_json::Value {
    event["headers"]["authorization"] = format!("Bearer {key}").into();
    event
}

/// The sample event with its `{id}` path parameter set to `id`.
pub fn at(mut event: serde_json::Value, id: &str) -> serde_json::Value {
    let old = event["pathParameters"]["id"].as_str().unwrap().to_owned();
    let path = event["rawPath"].as_str().unwrap().replace(&old, id);
    event["rawPath"] = path.clone().into();
    event["requestContext"]["http"]["path"] = path.into();
    event["pathParameters"]["id"] = id.into();
    event
}

/// A response's status and its JSON body (its text as a string when not JSON).
pub fn status_and_json(
    response: &lambda_http::Response<lambda_http::Body>,
) -> (u16, serde_json::Value) {
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(response.body().as_ref()).into())
    });
    (response.status().as_u16(), body)
}

/// The profile of the sample verified mentee, as person `id`, with `changes`.
pub fn verified_profile(id: &str, changes: serde_json::Value) -> serde_json::Value {
    let sample = event("routing-verified-mentee.json");
    let image = &sample["Records"][0]["dynamodb"]["NewImage"];
    let mut profile: serde_json::Value = serde_dynamo::from_item(
        serde_json::from_value::<serde_dynamo::Item>(image.clone()).unwrap(),
    )
    .unwrap();
    profile["pk"] = shared::store::Key::person_partition(id).into();
    profile["id"] = id.into();
    for (name, value) in changes.as_object().unwrap() {
        profile[name] = value.clone();
    }
    profile
}

/// Stores `profiles` and returns the stream batch announcing them as verified.
pub async fn store_verified(table: &TestTable, profiles: &[serde_json::Value]) -> Event {
    let sample = event("routing-verified-mentee.json");
    let mut records = Vec::new();
    for (n, profile) in profiles.iter().enumerate() {
        table.put(profile).await;
        let mut record = sample["Records"][0].clone();
        let image: serde_dynamo::Item = serde_dynamo::to_item(profile).unwrap();
        record["dynamodb"]["NewImage"] = serde_json::to_value(image).unwrap();
        record["dynamodb"]["Keys"] =
            serde_json::json!({"pk": {"S": profile["pk"]}, "sk": {"S": keys::sort::PROFILE}});
        record["dynamodb"]["SequenceNumber"] = format!("{:024}", n + 1).into();
        records.push(record);
    }
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// moto's server, shared by the tests of this process.
pub struct Moto {
    pub endpoint: String,
    _process: Mutex<Child>,
}

/// Starts moto's server on a free loopback port the first time; fails the
/// test (never skips it) when moto cannot start.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start_moto)
}

/// The Python that has moto: the project's virtual environment (made by the
/// test command), else the one on the PATH.
fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

// moto exits when its standard input closes, that is when this process ends.
const MOTO_LAUNCHER: &str = "\
import os, sys, threading
from moto.server import main
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
main(['-H', '127.0.0.1', '-p', sys.argv[1]])
";

fn start_moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    // Its request log goes to a file: an unread pipe would fill and stall it.
    let log_path = std::env::temp_dir().join(format!("binome-moto-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("moto's log file");
    let mut child = Command::new(python())
        .args(["-c", MOTO_LAUNCHER, &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("moto cannot start: run the README's test command, which installs it in .venv");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("moto exited ({status}) before listening: {log}");
        }
        assert!(
            Instant::now() < deadline,
            "moto did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _process: Mutex::new(child),
    }
}

/// Runs a storage test body once per emulator, as two tests.
#[macro_export]
macro_rules! on_both_emulators {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::TestTable::new($crate::Backend::Embedded).await).await;
                }
            )+
        }
        mod moto {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::TestTable::new($crate::Backend::Moto).await).await;
                }
            )+
        }
    };
}
