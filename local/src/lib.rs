//! The local stack: every function of binome in one process, on real code
//! paths with local backends behind the same clients.
//!
//! - DynamoDB: dynoxide, embedded, persisted in `<data>/dynamodb.sqlite`,
//!   reached by the real SDK client over loopback; TTL swept on a timer;
//! - HTTP: every route key of every function on one port (`gateway`);
//! - streams: the table's stream delivered to stream-triggered functions
//!   in the Lambda event shape (`streams`);
//! - the campaigns' send queue, as SQS and its event source mapping
//! - the figures kept from the stream (`stats`), and their backfill as a job
//!   (`queue`), with faults to inject;
//! - mail: one `.eml` per mail in `<data>/outbox/`, links printed.

pub mod emulator;
pub mod faults;
pub mod gateway;
pub mod jobs;
pub mod queue;
pub mod streams;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use anyhow::Context;
use campaigns::Campaigns;
use emulator::Emulator;
use gateway::Route;
use mailer::Delivery;
use matching::Matching;
use newsletter::Newsletter;
use reminders::Reminders;
use routing::{
    Routing,
    directory::{self, AssociationForm},
};
use shared::{
    keyring::Keyring,
    links::Links,
    mail::Mailer,
    retention::Retention,
    store::{Store, table},
};
use signup::Signup;
use stats::Stats;
use streams::{Consumer, StreamReader};
use tokio::{net::TcpListener, task::JoinHandle};

/// The table name used locally.
pub const TABLE_NAME: &str = "binome";
/// Sender of local mails.
pub const MAIL_FROM: &str = "binome <ne-pas-repondre@binome.example>";
const TTL_SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Where the local network admins' digests go (a file in the outbox, like every mail).
pub const NETWORK_ADMIN_EMAIL: &str = "reseau@binome.example";
/// The daily sweep's hour, as `cron(0 6 * * ? *)` in the template.
const SWEEP_HOUR_UTC: u32 = 6;
/// The nightly matching's hour, as `cron(0 2 * * ? *)` in the template.
const MATCHING_HOUR_UTC: u32 = 2;

#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    pub data_dir: PathBuf,
    /// Base of the links in mails; `http://127.0.0.1:<port>` by default.
    pub public_base_url: Option<String>,
    /// The public site (forms); the stack itself by default.
    pub site_url: Option<String>,
    /// Print each mail's subject and links.
    pub announce_mail: bool,
    /// The API's throttling (the template's by default).
    pub throttle: gateway::Throttle,
    pub campaigns: CampaignOptions,
    /// Transactional mails per second (the template's `mailer::DEFAULT_RATE_PER_SECOND`).
    pub mail_rate_per_second: u32,
    /// Faults injected into DynamoDB, the mail service and stream deliveries.
    pub faults: faults::Faults,
}

/// How the newsletter's campaigns run locally.
#[derive(Debug, Clone, Copy)]
pub struct CampaignOptions {
    pub queue: queue::Settings,
    /// Mails per second per sending invocation; `None`: unbounded.
    pub rate_per_second: Option<u32>,
    pub lease: Duration,
    /// Share of campaign sends that the file outbox fails, as a throttled SES.
    pub mail_fault_rate: f64,
}

impl CampaignOptions {
    pub const TEMPLATE: CampaignOptions = CampaignOptions {
        queue: queue::Settings::TEMPLATE,
        rate_per_second: Some(campaigns::DEFAULT_RATE_PER_SECOND),
        lease: campaigns::DEFAULT_LEASE,
        mail_fault_rate: 0.0,
    };
}

/// A running stack; everything stops when it is dropped.
pub struct Stack {
    pub address: SocketAddr,
    /// The network admins' key (Authorization: Bearer), kept in `<data>/admin-key`.
    pub admin_key: String,
    pub base_url: String,
    pub outbox_dir: PathBuf,
    /// The routing functions' state (tests run the daily sweep through it).
    pub routing: Arc<Routing>,
    /// The campaigns' send queue (tests watch it drain).
    pub campaign_queue: Arc<queue::LocalQueue>,
    /// The figures' function (tests read what it wrote per record).
    pub stats: Arc<Stats>,
    /// What the DynamoDB fault proxy did, when it runs.
    pub dynamodb_faults: Option<Arc<faults::FaultCounts>>,
    /// Stream deliveries killed, by consumer.
    pub stream_kills: BTreeMap<&'static str, Arc<AtomicU64>>,
    /// Served as long as the stack runs.
    _emulator: Emulator,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub async fn start(options: Options) -> anyhow::Result<Stack> {
    let data_dir = &options.data_dir;
    tokio::fs::create_dir_all(data_dir)
        .await
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let outbox_dir = data_dir.join("outbox");
    let emulator = Emulator::persistent(&data_dir.join("dynamodb.sqlite")).await?;
    let mut tasks = Vec::new();
    let (endpoint, dynamodb_faults) = if options.faults.dynamodb.any() {
        let (endpoint, counts, proxy) =
            faults::dynamodb_proxy(&emulator.endpoint, options.faults.dynamodb).await?;
        tasks.push(proxy);
        (endpoint, Some(counts))
    } else {
        (emulator.endpoint.clone(), None)
    };
    let sdk = shared::aws::offline(&endpoint).await;
    let store = Store::new(&sdk, TABLE_NAME, None);
    table::create_if_missing(&store.client, &store.table).await?;
    let keyring = Keyring::from_hex(&secret_file(data_dir, "signing-secret").await?)?;
    let admin_key = secret_file(data_dir, "admin-key").await?;
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .with_context(|| format!("port {} is taken: choose another with --port", options.port))?;
    let address = listener.local_addr()?;
    let base_url = options
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let site_url = options.site_url.clone().unwrap_or_else(|| base_url.clone());

    let links = Links::new(&base_url, &site_url);
    let routing = Arc::new(Routing::new(
        store.clone(),
        links.clone(),
        Some(&admin_key),
        Some(NETWORK_ADMIN_EMAIL.to_owned()),
    ));
    seed_directory(&routing, data_dir).await?;
    let newsletter = Arc::new(Newsletter::new(
        store.clone(),
        keyring.clone(),
        links.clone(),
        &admin_key,
    ));
    let mailer = Mailer::files(&outbox_dir, MAIL_FROM, options.announce_mail)?;
    let campaign_queue = queue::LocalQueue::new(
        options.campaigns.queue,
        data_dir.join("queue-campaign-sends.dead-letters.jsonl"),
    );
    let campaigns = Arc::new(
        Campaigns::new(
            store.clone(),
            keyring.clone(),
            links.clone(),
            mailer
                .clone()
                .with_faults(options.campaigns.mail_fault_rate),
            campaign_queue.clone(),
            options.campaigns.rate_per_second,
        )
        .with_lease(options.campaigns.lease),
    );
    let delivery = Arc::new(Delivery::new(
        store.clone(),
        mailer.with_faults(options.faults.mail_fault_rate),
        options.mail_rate_per_second,
    ));

    let signup = Arc::new(Signup::new(
        store.clone(),
        keyring.clone(),
        links.clone(),
        Duration::ZERO,
    ));
    let reminders = Arc::new(Reminders::new(
        store.clone(),
        keyring.clone(),
        links.clone(),
        Retention::default(),
    ));
    let matching = Arc::new(Matching::new(store.clone(), keyring.clone(), links.clone()));
    let stats = Arc::new(Stats::new(store.clone(), Some(&admin_key)));
    let staff = Arc::new(staff::Staff::new(
        store.clone(),
        keyring.clone(),
        links.clone(),
        &admin_key,
        Duration::from_millis(staff::DEFAULT_RESPONSE_FLOOR_MS),
    ));
    // Every HTTP route of every function, as in `infra/template.yaml`.
    let mut routes = function_routes(newsletter::ROUTES, newsletter, |app, request| async move {
        newsletter::handle(&app, request).await
    });
    routes.extend(function_routes(
        signup::ROUTES,
        signup,
        |app, request| async move { signup::handle(&app, request).await },
    ));
    routes.extend(function_routes(
        routing::ROUTES,
        routing.clone(),
        |app, request| async move { routing::handle(&app, request).await },
    ));
    routes.extend(function_routes(
        matching::ROUTES,
        matching.clone(),
        |app, request| async move { matching::handle(&app, request).await },
    ));
    routes.extend(function_routes(
        stats::ROUTES,
        stats.clone(),
        |app, request| async move { stats::handle(&app, request).await },
    ));
    routes.extend(function_routes(
        staff::ROUTES,
        staff,
        |app, request| async move { staff::handle(&app, request).await },
    ));
    let routes = Arc::new(routes);
    let jobs = Arc::new(jobs::Jobs {
        routing: routing.clone(),
        matching: matching.clone(),
        delivery: delivery.clone(),
        reminders,
        campaigns: campaigns.clone(),
        stats: stats.clone(),
        admin_key: admin_key.clone(),
    });
    // The site's assets, as CloudFront serves them from S3 in AWS: the
    // design system as installed from its lockfile, the site's own, and the
    // API contract.
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let app = axum::Router::new()
        .route("/local/jobs/{job}", axum::routing::post(jobs::run_now))
        .with_state(jobs.clone())
        .nest_service(
            "/dsfr",
            tower_http::services::ServeDir::new(web.join("node_modules/@gouvfr/dsfr/dist")),
        )
        .nest_service(
            "/assets",
            tower_http::services::ServeDir::new(web.join("assets")),
        )
        // The API contract, committed beside the assets and served with them.
        .route_service(
            "/v1/openapi.json",
            tower_http::services::ServeFile::new(web.join("openapi.json")),
        )
        .fallback({
            let limiter = options.throttle.limiter();
            move |request| gateway::dispatch(routes.clone(), limiter.clone(), request)
        });
    tasks.push(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "HTTP server stopped");
        }
    }));

    let reader = StreamReader::open(emulator.db.clone(), TABLE_NAME).await?;
    tasks.push(tokio::spawn(jobs::every(
        jobs.clone(),
        "mail-leases",
        Duration::from_secs(300),
    )));
    tasks.push(tokio::spawn(jobs::every(
        jobs.clone(),
        "reminders",
        Duration::from_secs(900),
    )));
    tasks.push(tokio::spawn(jobs::every(
        jobs,
        "campaigns",
        Duration::from_secs(60),
    )));
    tasks.extend(campaign_queue.spawn({
        let campaigns = campaigns.clone();
        Arc::new(move |event| {
            let campaigns = campaigns.clone();
            Box::pin(async move { campaigns::send::deliver(&campaigns, event).await })
        })
    }));
    let consumers = StreamConsumers {
        delivery,
        routing: routing.clone(),
        matching: matching.clone(),
        campaigns,
        stats: stats.clone(),
    };
    let mut stream_kills = BTreeMap::new();
    for consumer in consumers.into_consumers() {
        let kills = Arc::new(AtomicU64::new(0));
        stream_kills.insert(consumer.name, kills.clone());
        let delivery = streams::Delivery {
            kill_rate: options.faults.stream_kill_rate,
            kills,
        };
        tasks.push(streams::spawn(reader.clone(), consumer, delivery, data_dir));
    }
    tasks.push(tokio::spawn(daily_sweep(routing.clone())));
    tasks.push(tokio::spawn(nightly_matching(matching)));

    let db = emulator.db.clone();
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(TTL_SWEEP_EVERY);
        loop {
            every.tick().await;
            match emulator::sweep_ttl(db.clone()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired items deleted"),
                Err(error) => tracing::warn!(%error, "TTL sweep failed"),
            }
        }
    }));

    Ok(Stack {
        address,
        admin_key,
        base_url,
        outbox_dir,
        routing,
        campaign_queue,
        stats,
        dynamodb_faults,
        stream_kills,
        _emulator: emulator,
        tasks,
    })
}

/// The routes of one HTTP function, each handing requests to its handler.
fn function_routes<A, H, F>(keys: &'static [&'static str], app: Arc<A>, handle: H) -> Vec<Route>
where
    A: Send + Sync + 'static,
    H: Fn(Arc<A>, lambda_http::Request) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<
            Output = Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
        > + Send
        + 'static,
{
    keys.iter()
        .map(|key| {
            let (app, handle) = (app.clone(), handle.clone());
            Route {
                key,
                handler: Arc::new(move |request| {
                    let response = handle(app.clone(), request);
                    Box::pin(async move {
                        response
                            .await
                            .unwrap_or_else(|_| shared::http::ApiError::unavailable().respond())
                    })
                }),
            }
        })
        .collect()
}

/// The stream-triggered functions.
struct StreamConsumers {
    delivery: Arc<Delivery>,
    routing: Arc<Routing>,
    matching: Arc<Matching>,
    campaigns: Arc<Campaigns>,
    stats: Arc<Stats>,
}

impl StreamConsumers {
    fn into_consumers(self) -> Vec<Consumer> {
        let Self {
            delivery,
            routing,
            matching,
            campaigns,
            stats,
        } = self;
        vec![
            Consumer {
                name: "mailer",
                batch_size: 10,
                deliver: Arc::new(move |event| {
                    let delivery = delivery.clone();
                    Box::pin(async move { mailer::deliver(&delivery, &event).await })
                }),
            },
            Consumer {
                name: "routing",
                batch_size: 25,
                deliver: Arc::new(move |event| {
                    let routing = routing.clone();
                    Box::pin(async move { routing::stream::deliver(&routing, &event).await })
                }),
            },
            Consumer {
                name: "matching",
                batch_size: 1,
                deliver: Arc::new(move |event| {
                    let matching = matching.clone();
                    Box::pin(async move { matching::deliver(&matching, &event).await })
                }),
            },
            Consumer {
                name: "campaigns",
                batch_size: 10,
                deliver: Arc::new(move |event| {
                    let campaigns = campaigns.clone();
                    Box::pin(async move { campaigns::start::deliver(&campaigns, &event).await })
                }),
            },
            Consumer {
                name: "stats",
                batch_size: 100,
                deliver: Arc::new(move |event| {
                    let stats = stats.clone();
                    Box::pin(async move { stats::stream::deliver(&stats, &event).await })
                }),
            },
        ]
    }
}

/// The next time of day `hour` (UTC) comes.
fn next_at(hour: u32) -> Duration {
    let now = chrono::Utc::now();
    let today = now
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .expect("a valid hour")
        .and_utc();
    let next = if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    (next - now).to_std().unwrap_or_default()
}

/// The nightly matching runs, at the time the template schedules them.
async fn nightly_matching(matching: Arc<Matching>) {
    loop {
        tokio::time::sleep(next_at(MATCHING_HOUR_UTC)).await;
        let now = chrono::Utc::now();
        if let Err(error) = matching::runs::nightly(&matching, now).await {
            tracing::error!(%error, "nightly matching failed");
        }
    }
}

/// The routing sweep, every day at the time the template schedules it.
async fn daily_sweep(routing: Arc<Routing>) {
    loop {
        tokio::time::sleep(next_at(SWEEP_HOUR_UTC)).await;
        if let Err(error) = routing::sweep::sweep(&routing, chrono::Utc::now()).await {
            tracing::error!(%error, "daily sweep failed");
        }
    }
}

/// A local secret: made once, kept in the data folder (owner-only).
async fn secret_file(data_dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = data_dir.join(name);
    if let Ok(secret) = tokio::fs::read_to_string(&path).await {
        return Ok(secret.trim().to_owned());
    }
    let secret = Keyring::generate_hex();
    tokio::fs::write(&path, &secret).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).await?;
    }
    Ok(secret)
}

/// At first start, an example directory of fictional associations
/// (`directory.json`), their API keys written to `<data>/keys.json`.
async fn seed_directory(routing: &Routing, data_dir: &Path) -> anyhow::Result<()> {
    let keys_path = data_dir.join("keys.json");
    if tokio::fs::try_exists(&keys_path).await? {
        return Ok(());
    }
    let keys = save_example_directory(routing).await?;
    tokio::fs::write(&keys_path, serde_json::to_string_pretty(&keys)?).await?;
    Ok(())
}

/// Saves the example associations of `directory.json`; their API keys by slug.
pub async fn save_example_directory(
    routing: &Routing,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(include_str!("directory.json"))?;
    let mut keys = serde_json::Map::new();
    for mut entry in entries {
        let slug = entry
            .as_object_mut()
            .and_then(|fields| fields.remove("slug"))
            .and_then(|slug| slug.as_str().map(str::to_owned))
            .context("every example association has a slug")?;
        let form: AssociationForm = serde_json::from_value(entry)?;
        let record = directory::validate(&slug, form)
            .map_err(|problems| anyhow::anyhow!("{slug}: {problems:?}"))?;
        let key = directory::save(routing, &record)
            .await
            .with_context(|| format!("saving {slug}"))?;
        if let Some(key) = key {
            keys.insert(slug, key.into());
        }
    }
    Ok(keys)
}
