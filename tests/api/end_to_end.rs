//! The local stack as a person uses it: subscribe over HTTP, read the mail
//! the stack wrote, follow its link, get the welcome mail, unsubscribe with
//! the mail client's one-click request.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use mail_parser::{HeaderValue, Message, MessageParser};

async fn start_stack(data: &Path) -> local::Stack {
    start_stack_throttled(data, local::gateway::Throttle::TEMPLATE).await
}

/// A local stack on a free port, with the API's throttling at `throttle`.
pub(crate) async fn start_stack_throttled(
    data: &Path,
    throttle: local::gateway::Throttle,
) -> local::Stack {
    start_stack_with(data, throttle, local::CampaignOptions::TEMPLATE).await
}

/// A local stack on a free port, with these limits and campaign settings.
pub(crate) async fn start_stack_with(
    data: &Path,
    throttle: local::gateway::Throttle,
    campaigns: local::CampaignOptions,
) -> local::Stack {
    local::start(local::Options {
        port: 0,
        data_dir: data.to_path_buf(),
        public_base_url: None,
        site_url: None,
        throttle,
        campaigns,
        mail_rate_per_second: mailer::DEFAULT_RATE_PER_SECOND,
        faults: local::faults::Faults::NONE,
        announce_mail: false,
    })
    .await
    .expect("the local stack starts")
}

async fn subscribe(stack: &local::Stack, body: &str) -> reqwest::Response {
    post_json(stack, "/v1/newsletter", body).await
}

/// POSTs a JSON body to the stack.
async fn post_json(stack: &local::Stack, path: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", stack.base_url))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// Waits for the mail with this subject, as the stack's mailer writes it.
async fn wait_for_mail(outbox: &Path, subject: &str) -> Vec<u8> {
    wait_for_new_mail(outbox, None, subject, &mut Vec::new()).await
}

/// The links of the mail's text part, as a reader would click them.
fn links(message: &Message<'_>) -> Vec<String> {
    let text = message.body_text(0).expect("a text part");
    text.split_whitespace()
        .filter(|word| word.starts_with("http"))
        .map(str::to_owned)
        .collect()
}

pub(crate) fn header(message: &Message<'_>, name: &str) -> String {
    match message.header(name) {
        Some(HeaderValue::Text(text)) => text.to_string(),
        Some(HeaderValue::Address(address)) => address
            .first()
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned(),
        other => panic!("header {name}: {other:?}"),
    }
}

#[tokio::test]
async fn subscribe_confirm_and_unsubscribe_through_the_local_stack() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack(data.path()).await;
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{}/v1/health", stack.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let subscribed = subscribe(
        &stack,
        r#"{"email": "Lea.Martin@Exemple.fr", "consent": true, "source": "e2e"}"#,
    )
    .await;
    assert_eq!(subscribed.status(), 202);

    let raw = wait_for_mail(
        &stack.outbox_dir,
        "Confirmez votre inscription à la lettre de binome",
    )
    .await;
    let confirmation = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(header(&confirmation, "To"), "lea.martin@exemple.fr");
    assert!(
        confirmation.header("List-Unsubscribe").is_none(),
        "a transactional mail"
    );
    let confirm_link = links(&confirmation)
        .into_iter()
        .find(|l| l.contains("/v1/newsletter/confirm?token="))
        .expect("a confirmation link");
    assert!(confirm_link.starts_with(&stack.base_url));

    for _ in 0..2 {
        let page = http.get(&confirm_link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Votre inscription est confirmée.")
        );
    }

    let raw = wait_for_mail(&stack.outbox_dir, "Bienvenue dans la lettre de binome").await;
    let welcome = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        header(&welcome, "List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let unsubscribe_link = header(&welcome, "List-Unsubscribe")
        .trim_matches(['<', '>'])
        .to_owned();
    assert!(
        links(&welcome).contains(&unsubscribe_link),
        "the same link is visible in the mail"
    );

    // What a mail client sends for a one-click unsubscribe (RFC 8058).
    let done = http
        .post(&unsubscribe_link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("Vous êtes désinscrit·e.")
    );

    // One confirmation and one welcome mail, however many clicks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = std::fs::read_dir(&stack.outbox_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count();
    assert_eq!(mails, 2);
}

#[tokio::test]
async fn data_and_links_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let confirm_link = {
        let stack = start_stack(data.path()).await;
        let subscribed =
            subscribe(&stack, r#"{"email": "sami@exemple.fr", "consent": true}"#).await;
        assert_eq!(subscribed.status(), 202);
        let raw = wait_for_mail(
            &stack.outbox_dir,
            "Confirmez votre inscription à la lettre de binome",
        )
        .await;
        let link = links(&MessageParser::default().parse(&raw).unwrap()).remove(0);
        // The link names the port of the first run; keep only its path.
        link.split_once("/v1/")
            .map(|(_, rest)| format!("/v1/{rest}"))
            .unwrap()
    };
    let stack = start_stack(data.path()).await;
    let page = reqwest::get(format!("{}{confirm_link}", stack.base_url))
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        200,
        "the subscriber and the signing secret were kept"
    );
    wait_for_mail(&stack.outbox_dir, "Bienvenue dans la lettre de binome").await;
}

/// Waits for a mail with this subject (to `to`, if given) that is not among
/// those already `seen`, and adds it to them.
async fn wait_for_new_mail(
    outbox: &Path,
    to: Option<&str>,
    subject: &str,
    seen: &mut Vec<std::path::PathBuf>,
) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "eml") || seen.contains(&path) {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let Some(message) = MessageParser::default().parse(&raw) else {
                continue;
            };
            if message.subject() == Some(subject)
                && to.is_none_or(|to| header(&message, "To") == to)
            {
                seen.push(path);
                return raw;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no mail « {subject} » to {to:?} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn link_to(raw: &[u8], path: &str) -> String {
    links(&MessageParser::default().parse(raw).unwrap())
        .into_iter()
        .find(|link| link.contains(&format!("{path}?token=")))
        .unwrap_or_else(|| panic!("no link to {path}"))
}

#[tokio::test]
async fn a_minor_an_adult_and_a_mentor_sign_up_verify_export_and_erase() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack(data.path()).await;
    let http = reqwest::Client::new();
    let mut seen = Vec::new();
    let stack_ref = &stack;
    let post = move |path: &'static str, body: &serde_json::Value| {
        let body = body.to_string();
        async move { post_json(stack_ref, path, &body).await }
    };

    // A 14-year-old, with a guardian.
    let mut minor = binome_tests::event_body("signup-mentee.json");
    let birth = chrono::Utc::now().date_naive() - chrono::Duration::days(14 * 365 + 100);
    minor["birth_date"] = birth.format("%Y-%m-%d").to_string().into();
    minor["situation"] = "collegien".into();
    minor["email"] = "lina.e2e@exemple.fr".into();
    minor["guardian"] = serde_json::json!({"name": "Karim Haddad", "email": "karim.e2e@exemple.fr", "consent": true});
    assert_eq!(post("/v1/mentees", &minor).await.status(), 202);
    // An adult mentee and a mentor.
    let mut adult = binome_tests::event_body("signup-mentee.json");
    adult["email"] = "adulte.e2e@exemple.fr".into();
    assert_eq!(post("/v1/mentees", &adult).await.status(), 202);
    let mut mentor = binome_tests::event_body("signup-mentor.json");
    mentor["email"] = "mentor.e2e@exemple.fr".into();
    assert_eq!(post("/v1/mentors", &mentor).await.status(), 202);

    // Each follows the link of their own mail.
    for to in ["adulte.e2e@exemple.fr", "mentor.e2e@exemple.fr"] {
        let mail = wait_for_new_mail(
            &stack.outbox_dir,
            Some(to),
            "Confirmez votre adresse e-mail",
            &mut seen,
        )
        .await;
        let page = http.get(link_to(&mail, "/v1/verify")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Votre demande est confirmée.")
        );
    }
    let mail = wait_for_new_mail(
        &stack.outbox_dir,
        Some("lina.e2e@exemple.fr"),
        "Confirmez votre adresse e-mail",
        &mut seen,
    )
    .await;
    let page = http
        .get(link_to(&mail, "/v1/verify"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Il manque encore l"),
        "the guardian has not agreed yet"
    );
    let mail = wait_for_new_mail(
        &stack.outbox_dir,
        Some("karim.e2e@exemple.fr"),
        "Votre accord pour le mentorat de Inès",
        &mut seen,
    )
    .await;
    let consent = link_to(&mail, "/v1/guardian/consent");
    assert!(
        http.get(&consent)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Je refuse")
    );
    let agreed = http
        .post(&consent)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(agreed.status(), 200);
    assert!(
        agreed
            .text()
            .await
            .unwrap()
            .contains("votre accord est enregistré"),
        "the page speaks to the guardian"
    );

    // Each request goes to an association, and each person is told which.
    for (to, association) in [
        ("lina.e2e@exemple.fr", "Tremplin 93"),
        ("adulte.e2e@exemple.fr", "Tremplin 93"),
        ("mentor.e2e@exemple.fr", "Un mentor à distance"),
    ] {
        let mail = wait_for_new_mail(
            &stack.outbox_dir,
            Some(to),
            &format!("Votre demande a été transmise à {association}"),
            &mut seen,
        )
        .await;
        assert!(String::from_utf8_lossy(&mail).contains("vous contactera"));
    }

    // Each asks for their data, reads it, then erases it.
    for to in [
        "lina.e2e@exemple.fr",
        "adulte.e2e@exemple.fr",
        "mentor.e2e@exemple.fr",
    ] {
        let asked = post("/v1/me/link", &serde_json::json!({ "email": to })).await;
        assert_eq!(asked.status(), 202);
        let mail = wait_for_new_mail(
            &stack.outbox_dir,
            Some(to),
            "Votre demande et vos données",
            &mut seen,
        )
        .await;
        let export = http.get(link_to(&mail, "/v1/me")).send().await.unwrap();
        assert_eq!(export.status(), 200);
        let data: serde_json::Value = export.json().await.unwrap();
        assert_eq!(data["profile"]["email"], to);
        assert_eq!(data["profile"]["status"], "routed");
        assert_eq!(
            data["routing"]["decision"]["rule_version"],
            "routing-2026-11"
        );
        assert!(data["profile"].get("assoc_pk").is_none());
        let erased = http
            .post(link_to(&mail, "/v1/me/erase"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap();
        assert_eq!(erased.status(), 200);
        assert!(
            erased
                .text()
                .await
                .unwrap()
                .contains("Vos données ont été effacées.")
        );
        let gone = http.get(link_to(&mail, "/v1/me")).send().await.unwrap();
        assert_eq!(gone.status(), 404);
    }
}

/// The action URLs of the forms of a page.
fn form_actions(html: &str) -> Vec<String> {
    html.split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|action| action.replace("&amp;", "&").replace("&#38;", "&"))
        .collect()
}

#[tokio::test]
async fn from_sign_up_to_an_active_pair_by_following_the_mailed_links() {
    let data = tempfile::tempdir().unwrap();
    let stack = start_stack(data.path()).await;
    let http = reqwest::Client::new();
    let mut seen = Vec::new();
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.path().join("keys.json")).unwrap())
            .unwrap();
    let key = keys["tremplin-93"].as_str().unwrap().to_owned();
    let stack_ref = &stack;
    let post = move |path: &'static str, body: &serde_json::Value| {
        let body = body.to_string();
        async move { post_json(stack_ref, path, &body).await }
    };

    // A young person of Seine-Saint-Denis and a volunteer who chose Tremplin 93.
    let mut mentee = binome_tests::event_body("signup-mentee.json");
    mentee["email"] = "ines.paire@exemple.fr".into();
    let mut mentor = binome_tests::event_body("signup-mentor.json");
    mentor["email"] = "thomas.paire@exemple.fr".into();
    mentor["postal_code"] = "93200".into();
    mentor["preferred_association"] = "tremplin-93".into();
    assert_eq!(post("/v1/mentees", &mentee).await.status(), 202);
    assert_eq!(post("/v1/mentors", &mentor).await.status(), 202);
    for to in ["ines.paire@exemple.fr", "thomas.paire@exemple.fr"] {
        let mail = wait_for_new_mail(
            &stack.outbox_dir,
            Some(to),
            "Confirmez votre adresse e-mail",
            &mut seen,
        )
        .await;
        assert_eq!(
            http.get(link_to(&mail, "/v1/verify"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        wait_for_new_mail(
            &stack.outbox_dir,
            Some(to),
            "Votre demande a été transmise à Tremplin 93",
            &mut seen,
        )
        .await;
    }

    // The association pairs its pool.
    let run = http
        .post(format!("{}/v1/association/matching-runs", stack.base_url))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 202);
    let run: serde_json::Value = run.json().await.unwrap();
    let run_url = format!(
        "{}/v1/association/matching-runs/{}",
        stack.base_url,
        run["id"].as_str().unwrap()
    );

    // Its pairs wait as drafts; a member approves them all.
    let mut drafted = serde_json::Value::Null;
    for _ in 0..100 {
        drafted = http
            .get(&run_url)
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if drafted["status"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(drafted["summary"]["drafts"], 1, "{drafted}");
    let approved = http
        .post(format!("{run_url}/approve"))
        .header("authorization", format!("Bearer {key}"))
        .json(&serde_json::json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let approved: serde_json::Value = approved.json().await.unwrap();
    assert_eq!(approved["approved"], 1, "{approved}");

    // Each opens the proposal, sees two buttons, accepts.
    for to in ["ines.paire@exemple.fr", "thomas.paire@exemple.fr"] {
        let mail = wait_for_new_mail(
            &stack.outbox_dir,
            Some(to),
            "Une proposition de binôme",
            &mut seen,
        )
        .await;
        let text = String::from_utf8_lossy(&mail).to_string();
        assert!(text.contains("Pourquoi cette proposition"), "{text}");
        let page = http
            .get(link_to(&mail, "/v1/pairs/answer"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let accept = form_actions(&page)
            .into_iter()
            .find(|action| action.contains("answer=accept"))
            .unwrap_or_else(|| panic!("no accept button: {page}"));
        let answered = http.post(accept).send().await.unwrap();
        assert_eq!(answered.status(), 200);
    }

    // Both accepted: each receives the other's contact details.
    let to_mentee = wait_for_new_mail(
        &stack.outbox_dir,
        Some("ines.paire@exemple.fr"),
        "Votre binôme est formé",
        &mut seen,
    )
    .await;
    assert!(String::from_utf8_lossy(&to_mentee).contains("thomas.paire@exemple.fr"));
    let to_mentor = wait_for_new_mail(
        &stack.outbox_dir,
        Some("thomas.paire@exemple.fr"),
        "Votre binôme est formé",
        &mut seen,
    )
    .await;
    assert!(String::from_utf8_lossy(&to_mentor).contains("ines.paire@exemple.fr"));

    let summary: serde_json::Value = http
        .get(&run_url)
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["status"], "done");
    assert_eq!(summary["drafts"][0]["status"], "approved");

    // The young person erases their data: the pair keeps no trace of them
    // and ends, and the mentor's place is given back.
    let asked = post(
        "/v1/me/link",
        &serde_json::json!({"email": "ines.paire@exemple.fr"}),
    )
    .await;
    assert_eq!(asked.status(), 202);
    let mail = wait_for_new_mail(
        &stack.outbox_dir,
        Some("ines.paire@exemple.fr"),
        "Votre demande et vos données",
        &mut seen,
    )
    .await;
    let export: serde_json::Value = http
        .get(link_to(&mail, "/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        export["pairs"][0]["role"], "mentee",
        "the export lists the pair"
    );
    let erased = http
        .post(link_to(&mail, "/v1/me/erase"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let items = stack
            .routing
            .store
            .client
            .scan()
            .table_name(&stack.routing.store.table)
            .send()
            .await
            .unwrap();
        let pair = items
            .items()
            .iter()
            .find(|item| {
                item.get("sk")
                    .and_then(|s| s.as_s().ok())
                    .is_some_and(|s| s == shared::store::keys::sort::PAIR)
            })
            .cloned()
            .unwrap();
        if pair
            .get("mentee_id")
            .and_then(|m| m.as_s().ok())
            .is_some_and(|m| m == "erased")
        {
            assert_eq!(pair["status"].as_s().unwrap(), "closed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pair still names the erased person"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The network's figures, kept from the stream, tell the story; the
    // erasure took nothing from them.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let figures: serde_json::Value = http
            .get(format!("{}/v1/admin/stats?by=association", stack.base_url))
            .bearer_auth(&stack.admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let total = |name: &str| -> i64 {
            figures["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row[name].as_i64().unwrap())
                .sum()
        };
        let told = [
            ("requests_created", 1),
            ("requests_verified", 1),
            ("requests_routed", 1),
            ("mentors_signed_up", 1),
            ("pairs_proposed", 1),
            ("pairs_accepted", 1),
            ("pairs_closed_erased", 1),
        ]
        .iter()
        .all(|(name, count)| total(name) == *count);
        if told && figures["now"]["pairs_active"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "figures: {figures}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Past the API's limits the local gateway answers as API Gateway does: 429
/// with `Retry-After` and a French message, and nothing reaches a function.
#[tokio::test]
async fn past_the_api_s_limits_clients_are_told_to_retry_later() {
    let data = tempfile::tempdir().unwrap();
    let throttle = local::gateway::Throttle {
        rate_per_second: 1,
        burst: 3,
    };
    let stack = start_stack_throttled(data.path(), throttle).await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..6 {
        let response = subscribe(&stack, r#"{"email": "lea@exemple.fr", "consent": true}"#).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            refused = Some((
                retry_after,
                response.json::<serde_json::Value>().await.unwrap(),
            ));
        }
    }
    assert_eq!(&statuses[..3], [202, 202, 202], "the burst passes");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let (retry_after, body) = refused.unwrap();
    assert!((1..=2).contains(&retry_after));
    assert_eq!(body["code"], "too_many_requests");
    assert!(body["message"].as_str().unwrap().contains("réessayez"));
}
