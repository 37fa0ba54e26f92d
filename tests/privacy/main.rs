//! No e-mail address, phone number or name in the logs: every flow of the
//! suite runs once with the production log filter and its output captured.
//!
//! A test binary of its own: tracing caches whether a log line is wanted
//! per call site, process-wide, so other tests running at the same time
//! without this subscriber could hide lines from it.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use binome_tests::{
    Backend, TestTable, api_request, event, keyring, link_token as token, link_tokens, mentor_body,
    minor_body, with_body, with_token,
};
use mailer::Delivery;
use newsletter::Newsletter;
use routing::{
    Routing,
    directory::{self, AssociationForm},
};
use serde_json::{Value, json};
use shared::{links::Links, mail::Mailer};
use signup::Signup;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn every_flow(table: &TestTable, outbox: &std::path::Path) {
    let links = Links::new("https://api.binome.example", "https://binome.example");
    let newsletter = Newsletter::new(table.store.clone(), keyring(), links.clone(), "admin");
    let signup = Signup::new(table.store.clone(), keyring(), links, Duration::ZERO);
    let delivery = Delivery::new(
        table.store.clone(),
        Mailer::files(outbox, "binome <ne-pas-repondre@binome.example>", false).unwrap(),
        1000,
    );
    let news = |e: Value| newsletter::handle(&newsletter, api_request(&e));
    let sign = |e: Value| signup::handle(&signup, api_request(&e));

    news(with_body(
        event("newsletter-subscribe.json"),
        &json!({"email": "lecteur.secret@exemple.fr", "consent": true}),
    ))
    .await
    .unwrap();
    news(with_token(
        event("newsletter-confirm.json"),
        &token(table, "/v1/newsletter/confirm").await,
    ))
    .await
    .unwrap();
    news(with_token(
        event("newsletter-unsubscribe.json"),
        &token(table, "/v1/newsletter/unsubscribe").await,
    ))
    .await
    .unwrap();

    sign(with_body(event("signup-mentee.json"), &minor_body()))
        .await
        .unwrap();
    sign(with_body(event("signup-mentee.json"), &minor_body()))
        .await
        .unwrap();
    sign(with_body(event("signup-mentor.json"), &mentor_body()))
        .await
        .unwrap();
    let mut invalid = mentor_body();
    invalid["email"] = "thomas.moreau@@exemple.fr".into();
    sign(with_body(event("signup-mentor.json"), &invalid))
        .await
        .unwrap();
    for verify in link_tokens(table, "/v1/verify").await {
        sign(with_token(event("signup-verify.json"), &verify))
            .await
            .unwrap();
    }
    sign(with_token(
        event("signup-guardian-consent.json"),
        &token(table, "/v1/guardian/consent").await,
    ))
    .await
    .unwrap();
    let linked = sign(with_body(
        event("me-link.json"),
        &json!({"email": "sami.collegien@exemple.fr"}),
    ))
    .await
    .unwrap();
    assert_eq!(linked.status(), 202, "{:?}", linked.body());
    let personal_data = token(table, "/v1/me").await;
    sign(with_token(event("me-export.json"), &personal_data))
        .await
        .unwrap();

    // Routing: the verified requests go to an association, which reads,
    // declines; the sweep runs.
    let routing = Routing::new(
        table.store.clone(),
        Links::new("https://api.binome.example", "https://binome.example"),
        None,
        Some("reseau@binome.example".into()),
    );
    for (slug, departements) in [("premiere", ["93", "69"]), ("seconde", ["93", "69"])] {
        let form: AssociationForm = serde_json::from_value(json!({
            "name": slug, "contact_email": format!("{slug}@association.example"),
            "departements": departements, "modes": ["presentiel", "distance"],
            "needs": ["orientation", "confiance_reseau", "stage_alternance"], "monthly_capacity": 5,
        }))
        .unwrap();
        directory::save(&routing, &directory::validate(slug, form).unwrap())
            .await
            .unwrap();
    }
    let routed = routing::stream::deliver(&routing, &table.profile_records().await).await;
    assert!(routed.batch_item_failures.is_empty());
    routing::sweep::sweep(&routing, chrono::Utc::now() + chrono::Duration::days(15))
        .await
        .unwrap();

    mailer::deliver(&delivery, &table.outbox_insert_records().await).await;
    sign(with_token(event("me-erase.json"), &personal_data))
        .await
        .unwrap();
}

#[test]
fn no_address_phone_or_name_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,dynoxide=error"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outbox = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let table = TestTable::new(Backend::Embedded).await;
        every_flow(&table, outbox.path()).await;
    });
    let mails = std::fs::read_dir(outbox.path()).unwrap().count();
    // Two verification mails, the guardian's, the personal data link (the
    // two newsletter mails are dropped: the reader unsubscribed before the
    // mailer ran); then the mentee's and the mentor's requests are routed,
    // and handed over by the sweep: each time a mail to the person and one
    // to the association.
    assert_eq!(mails, 4 + 4 + 4, "the flows sent their mails");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for flow in ["sign-up verified", "request routed", "daily sweep done"] {
        assert!(logs.contains(flow), "« {flow} » was logged: {logs}");
    }
    for personal in [
        "lecteur.secret",
        "sami.collegien",
        "nadia.haddad",
        "thomas.moreau",
        "exemple.fr",
        "612345678",
        "6 12 34 56 78",
        "698765432",
        "Haddad",
        "Nadia",
        "Moreau",
        "Benali",
        "Inès",
    ] {
        assert!(
            !logs.contains(personal),
            "« {personal} » found in the logs:\n{logs}"
        );
    }
}
