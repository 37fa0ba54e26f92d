//! The staff space on the embedded emulator: invitation and sign-in by a
//! single-use link, sessions (fixation, removal, CSRF), the team's roles,
//! the inbox as pages, its journal, and the isolation between associations.

use std::time::Duration;

use binome_tests::Backend;
use binome_tests::{
    TestTable, api_request, keyring, status_and_json, store_verified, verified_profile,
};
use lambda_http::{Body, Response};
use routing::{
    Routing,
    directory::{self, AssociationForm},
    stream,
};
use serde_json::{Value, json};
use shared::{links::Links, staff::SESSION_COOKIE, store::keys::Key, tokens::Purpose};
use staff::Staff;

const ADMIN_KEY: &str = "cle-admin-de-test";

struct Space {
    table: TestTable,
    staff: Staff,
    routing: Routing,
    matching: matching::Matching,
}

impl Space {
    async fn new() -> Self {
        let table = TestTable::new(Backend::Embedded).await;
        let links = Links::new("https://api.binome.test", "https://binome.test");
        let staff = Staff::new(
            table.store.clone(),
            keyring(),
            links.clone(),
            ADMIN_KEY,
            Duration::ZERO,
        );
        let routing = Routing::new(table.store.clone(), links.clone(), Some(ADMIN_KEY), None);
        let matching = matching::Matching::new(table.store.clone(), keyring(), links);
        Self {
            table,
            staff,
            routing,
            matching,
        }
    }

    /// Sends `event` to whichever function serves its route.
    async fn call(&self, event: Value) -> Response<Body> {
        let request = api_request(&event);
        let route = event["routeKey"].as_str().unwrap();
        if staff::ROUTES.contains(&route) {
            staff::handle(&self.staff, request).await.unwrap()
        } else if matching::ROUTES.contains(&route) {
            matching::handle(&self.matching, request).await.unwrap()
        } else {
            routing::handle(&self.routing, request).await.unwrap()
        }
    }

    /// An association open to 93; its key (the one the network made).
    async fn association(&self, slug: &str, changes: Value) -> String {
        let mut form = json!({
            "name": format!("Association {slug}"),
            "contact_email": format!("contact@{slug}.example"),
            "departements": ["93"],
            "modes": ["presentiel", "distance"],
            "needs": ["orientation", "stage_alternance", "insertion_pro", "reussite_etudes", "confiance_reseau", "creation_entreprise"],
            "situations": [],
            "monthly_capacity": 10,
        });
        for (name, value) in changes.as_object().unwrap() {
            form[name] = value.clone();
        }
        let form: AssociationForm = serde_json::from_value(form).unwrap();
        let record = directory::validate(slug, form).unwrap();
        directory::save(&self.routing, &record)
            .await
            .unwrap()
            .unwrap()
    }

    /// The network invites `email` as the first admin of `slug`.
    async fn invite_first_admin(&self, slug: &str, email: &str) -> (u16, Value) {
        let response = self
            .call(json_event(
                "POST /v1/admin/associations/{slug}/admins",
                &format!("/v1/admin/associations/{slug}/admins"),
                json!({"slug": slug}),
                &json!({"name": "Camille Martin", "email": email}),
            ))
            .await;
        status_and_json(&response)
    }

    /// A network admin invited with the admin key, signed in: the session cookie.
    async fn network_admin_signed_in(&self) -> String {
        let invited = self
            .call(json_event(
                "POST /v1/admin/network-admins",
                "/v1/admin/network-admins",
                json!({}),
                &json!({"name": "Alex Durand", "email": "alex@reseau.example"}),
            ))
            .await;
        assert_eq!(invited.status(), 202);
        self.sign_in("alex@reseau.example").await
    }

    /// The newest sign-in link mailed to `email`'s account, as its token.
    async fn link_for(&self, email: &str) -> String {
        let id = keyring()
            .addresses
            .id_of(&shared::email::EmailAddress::parse(email).unwrap());
        let partition = Key::staff_account(id.as_str()).pk;
        let mut mails: Vec<Value> = self
            .table
            .outbox()
            .await
            .into_iter()
            .filter(|mail| mail["pk"] == partition.as_str())
            .collect();
        mails.sort_by_key(|m| m["sk"].as_str().unwrap().to_owned());
        let url = mails.last().expect("a mail to the account")["mail"]["params"]["sign_in_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let query = url.split_once('?').unwrap().1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "token")
            .unwrap()
            .1
            .into_owned()
    }

    /// Uses a sign-in link (with `cookie` as the browser's cookie header);
    /// the response.
    async fn use_link(&self, token: &str, cookie: Option<&str>) -> Response<Body> {
        let body = format!("token={}&suite=%2Fassociation%2Fequipe", encode(token));
        self.call(page_event(
            "POST /connexion/lien",
            "/connexion/lien",
            json!({}),
            "",
            &body,
            cookie,
        ))
        .await
    }

    /// Signs `email` in from their newest link; their cookie header.
    async fn sign_in(&self, email: &str) -> String {
        let response = self.use_link(&self.link_for(email).await, None).await;
        assert_eq!(response.status(), 303, "{}", text(&response));
        session_cookie(&response)
    }

    /// A page of the space, as `cookie` sees it: (status, HTML).
    async fn page(&self, route: &str, path: &str, params: Value, cookie: &str) -> (u16, String) {
        let response = self
            .call(page_event(route, path, params, "", "", Some(cookie)))
            .await;
        (response.status().as_u16(), text(&response))
    }

    /// Posts a form of the space.
    async fn post(
        &self,
        route: &str,
        path: &str,
        params: Value,
        body: &str,
        cookie: &str,
    ) -> Response<Body> {
        self.call(page_event(route, path, params, "", body, Some(cookie)))
            .await
    }

    /// The session's CSRF token, read from a page's forms.
    async fn csrf(&self, cookie: &str) -> String {
        let (status, html) = self
            .page(
                "GET /association/equipe",
                "/association/equipe",
                json!({}),
                cookie,
            )
            .await;
        assert_eq!(status, 200, "{html}");
        csrf_field(&html)
    }

    async fn staff_mails(&self) -> usize {
        self.table
            .outbox()
            .await
            .iter()
            .filter(|mail| mail["pk"].as_str().unwrap().starts_with("STAFF#"))
            .count()
    }

    async fn journal(&self, slug: &str) -> Vec<Value> {
        self.table
            .items()
            .await
            .into_iter()
            .filter(|item| item["pk"] == Key::journal_partition(slug).as_str())
            .collect()
    }
}

/// The CSRF token of a page's forms.
fn csrf_field(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_owned()
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

/// The `Cookie` header a browser sends back after this response.
fn session_cookie(response: &Response<Body>) -> String {
    let set = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// An API Gateway payload v2 event for a page of the site.
fn page_event(
    route: &str,
    path: &str,
    params: Value,
    query: &str,
    body: &str,
    cookie: Option<&str>,
) -> Value {
    let mut event = base_event(route, path, params, query, body);
    event["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
    if let Some(cookie) = cookie {
        event["headers"]["cookie"] = cookie.into();
    }
    event
}

fn json_event(route: &str, path: &str, params: Value, body: &Value) -> Value {
    let mut event = base_event(route, path, params, "", &body.to_string());
    event["headers"]["content-type"] = "application/json".into();
    event["headers"]["authorization"] = format!("Bearer {ADMIN_KEY}").into();
    event
}

fn base_event(route: &str, path: &str, params: Value, query: &str, body: &str) -> Value {
    let method = route.split_once(' ').unwrap().0;
    let parameters: serde_json::Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "binome.test"},
        "queryStringParameters": parameters,
        "pathParameters": params,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "test",
            "domainName": "binome.test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "test"},
            "requestId": "test",
            "routeKey": route,
            "stage": "$default",
            "time": "01/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796119200000_i64,
        },
        "body": body,
        "isBase64Encoded": false,
    })
}

#[tokio::test]
async fn an_invited_admin_signs_in_once_from_the_mailed_link() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    let (status, body) = space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("invited")),
        "{body}"
    );
    assert_eq!(
        space.invite_first_admin("nobody", "x@y.example").await.0,
        404
    );

    // Following the link only shows a button (a mail scanner uses nothing).
    let token = space.link_for("camille@mine.example").await;
    let query = format!("token={}", encode(&token));
    let page = space
        .call(page_event(
            "GET /connexion/lien",
            "/connexion/lien",
            json!({}),
            &query,
            "",
            None,
        ))
        .await;
    assert_eq!(page.status(), 200);
    assert!(text(&page).contains("Me connecter"));

    // An attacker's cookie from before sign-in is not kept (fixation).
    let planted = format!("{SESSION_COOKIE}=planted-by-someone-else");
    let signed_in = space.use_link(&token, Some(&planted)).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/association/equipe");
    let set = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "__Host-binome_session=",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    let cookie = session_cookie(&signed_in);
    assert_ne!(cookie, planted);
    let (status, html) = space
        .page(
            "GET /association/equipe",
            "/association/equipe",
            json!({}),
            &cookie,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Camille Martin") && html.contains("Inviter un membre"),
        "{html}"
    );
    let (status, _) = space
        .page(
            "GET /association/equipe",
            "/association/equipe",
            json!({}),
            &planted,
        )
        .await;
    assert_eq!(status, 303, "the planted id is no session");

    // The same link again: refused, and nothing opened.
    let again = space.use_link(&token, None).await;
    assert_eq!(again.status(), 410);
    assert!(text(&again).contains("déjà utilisé"));
    assert!(again.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn tampered_expired_and_foreign_links_are_refused() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let token = space.link_for("camille@mine.example").await;

    let mut tampered = token.clone();
    tampered.replace_range(5..6, if &token[5..6] == "A" { "B" } else { "A" });
    assert_eq!(space.use_link(&tampered, None).await.status(), 400);

    let subject = keyring()
        .tokens
        .verify(&token, Purpose::StaffSignIn, chrono::Utc::now())
        .unwrap()
        .subject;
    let expired = keyring().tokens.issue(
        Purpose::StaffSignIn,
        &subject,
        chrono::Utc::now() - chrono::Duration::minutes(16),
        chrono::Duration::minutes(15),
    );
    let refused = space.use_link(&expired, None).await;
    assert_eq!(refused.status(), 410);
    assert!(text(&refused).contains("expiré"));

    // A token signed for another purpose, on the same subject.
    let foreign = keyring().tokens.issue(
        Purpose::PairAnswer,
        &subject,
        chrono::Utc::now(),
        chrono::Duration::minutes(15),
    );
    assert_eq!(space.use_link(&foreign, None).await.status(), 400);
    // The genuine link still works after all that.
    assert_eq!(space.use_link(&token, None).await.status(), 303);
}

#[tokio::test]
async fn asking_for_a_link_answers_the_same_for_any_address() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let before = space.staff_mails().await;
    let ask = |email: &str| {
        page_event(
            "POST /connexion",
            "/connexion",
            json!({}),
            "",
            &format!("email={}", encode(email)),
            None,
        )
    };
    let known = space.call(ask("Camille@Mine.example")).await;
    let unknown = space.call(ask("personne@ailleurs.example")).await;
    assert_eq!(known.status(), 200);
    assert_eq!(
        (unknown.status(), text(&unknown)),
        (known.status(), text(&known))
    );
    assert_eq!(
        space.staff_mails().await,
        before + 1,
        "a link for the known address only"
    );
    assert_eq!(space.call(ask("pas une adresse")).await.status(), 400);

    // Five a quarter of an hour per address, then the same refusal for any.
    for _ in 0..4 {
        assert_eq!(space.call(ask("camille@mine.example")).await.status(), 200);
    }
    assert_eq!(space.call(ask("camille@mine.example")).await.status(), 429);
    assert_eq!(space.staff_mails().await, before + 5);
}

#[tokio::test]
async fn forms_without_the_session_s_csrf_token_change_nothing() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let cookie = space.sign_in("camille@mine.example").await;
    let invite = "name=Lou+Bernard&email=lou%40mine.example&role=member";
    for body in [invite.to_owned(), format!("csrf=forged&{invite}")] {
        let response = space
            .post(
                "POST /association/equipe",
                "/association/equipe",
                json!({}),
                &body,
                &cookie,
            )
            .await;
        assert_eq!(response.status(), 403, "{body}");
    }
    assert_eq!(space.staff_mails().await, 1, "no invitation sent");
    // With the token, the invitation goes.
    let csrf = space.csrf(&cookie).await;
    let response = space
        .post(
            "POST /association/equipe",
            "/association/equipe",
            json!({}),
            &format!("csrf={csrf}&{invite}"),
            &cookie,
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(space.staff_mails().await, 2);
    // Signing out needs it too; then the session is over.
    let out = space
        .post(
            "POST /deconnexion",
            "/deconnexion",
            json!({}),
            "csrf=forged",
            &cookie,
        )
        .await;
    assert_eq!(out.status(), 403);
    let out = space
        .post(
            "POST /deconnexion",
            "/deconnexion",
            json!({}),
            &format!("csrf={csrf}"),
            &cookie,
        )
        .await;
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = space
        .page(
            "GET /association/equipe",
            "/association/equipe",
            json!({}),
            &cookie,
        )
        .await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn members_work_the_inbox_but_only_admins_manage_the_team_and_a_removed_member_is_out_at_once()
 {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let admin = space.sign_in("camille@mine.example").await;
    let admin_csrf = space.csrf(&admin).await;
    let invite = format!("csrf={admin_csrf}&name=Lou+Bernard&email=lou%40mine.example&role=member");
    assert_eq!(
        space
            .post(
                "POST /association/equipe",
                "/association/equipe",
                json!({}),
                &invite,
                &admin
            )
            .await
            .status(),
        303
    );
    let member = space.sign_in("lou@mine.example").await;
    let member_csrf = space.csrf(&member).await;

    // The member sees the team, cannot invite, change roles or read the journal.
    let (_, html) = space
        .page(
            "GET /association/equipe",
            "/association/equipe",
            json!({}),
            &member,
        )
        .await;
    assert!(
        html.contains("Lou Bernard") && !html.contains("Envoyer l'invitation"),
        "{html}"
    );
    let by_member =
        format!("csrf={member_csrf}&name=Sam+Petit&email=sam%40mine.example&role=admin");
    assert_eq!(
        space
            .post(
                "POST /association/equipe",
                "/association/equipe",
                json!({}),
                &by_member,
                &member
            )
            .await
            .status(),
        403
    );
    let camille = keyring()
        .addresses
        .id_of(&shared::email::EmailAddress::parse("camille@mine.example").unwrap());
    let path = format!("/association/equipe/{}/retrait", camille.as_str());
    let response = space
        .post(
            "POST /association/equipe/{id}/retrait",
            &path,
            json!({"id": camille.as_str()}),
            &format!("csrf={member_csrf}"),
            &member,
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        space
            .page(
                "GET /association/journal",
                "/association/journal",
                json!({}),
                &member
            )
            .await
            .0,
        403
    );
    assert_eq!(
        space.staff_mails().await,
        2,
        "the two invitations, nothing from the member"
    );

    // The admin removes the member: their session stops at the next request.
    let lou = keyring()
        .addresses
        .id_of(&shared::email::EmailAddress::parse("lou@mine.example").unwrap());
    let path = format!("/association/equipe/{}/retrait", lou.as_str());
    let removed = space
        .post(
            "POST /association/equipe/{id}/retrait",
            &path,
            json!({"id": lou.as_str()}),
            &format!("csrf={admin_csrf}"),
            &admin,
        )
        .await;
    assert_eq!(removed.status(), 303);
    let (status, _) = space
        .page(
            "GET /association/demandes",
            "/association/demandes",
            json!({}),
            &member,
        )
        .await;
    assert_eq!(status, 303, "a removed member is signed out");
    // Invited again later, the old session still does not come back.
    assert_eq!(
        space
            .post(
                "POST /association/equipe",
                "/association/equipe",
                json!({}),
                &invite,
                &admin
            )
            .await
            .status(),
        303
    );
    let (status, _) = space
        .page(
            "GET /association/demandes",
            "/association/demandes",
            json!({}),
            &member,
        )
        .await;
    assert_eq!(status, 303);
    // The admin cannot remove themselves (a team keeps an admin).
    let path = format!("/association/equipe/{}/retrait", camille.as_str());
    let response = space
        .post(
            "POST /association/equipe/{id}/retrait",
            &path,
            json!({"id": camille.as_str()}),
            &format!("csrf={admin_csrf}"),
            &admin,
        )
        .await;
    assert_eq!(response.status(), 409);

    let (status, html) = space
        .page(
            "GET /association/journal",
            "/association/journal",
            json!({}),
            &admin,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Membre retiré·e") && html.contains("Lou Bernard (Membre)"),
        "{html}"
    );
}

#[tokio::test]
async fn staff_see_and_answer_their_own_requests_only_and_each_answer_is_in_the_journal() {
    let space = Space::new().await;
    space
        .association("mine", json!({"specialities": [{"group": "qpv"}]}))
        .await;
    space
        .association("other", json!({"departements": ["13"]}))
        .await;
    let batch = store_verified(
        &space.table,
        &[
            verified_profile("p1", json!({})),
            verified_profile("p2", json!({})),
            verified_profile("p3", json!({"departement": "13", "postal_code": "13001"})),
        ],
    )
    .await;
    stream::deliver(&space.routing, &batch).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    space
        .invite_first_admin("other", "alex@other.example")
        .await;
    let mine = space.sign_in("camille@mine.example").await;
    let other = space.sign_in("alex@other.example").await;
    let csrf = space.csrf(&mine).await;

    // The mail's link, signed out: to sign-in, then back to the request.
    let (status, _) = space
        .page(
            "GET /association/demandes/{id}",
            "/association/demandes/p1",
            json!({"id": "p1"}),
            "",
        )
        .await;
    assert_eq!(status, 303);

    let (status, html) = space
        .page(
            "GET /association/demandes",
            "/association/demandes",
            json!({}),
            &mine,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("À traiter (2)") && html.contains("/association/demandes/p1"),
        "{html}"
    );
    assert!(!html.contains("/association/demandes/p3"));
    let (status, html) = space
        .page(
            "GET /association/demandes/{id}",
            "/association/demandes/p1",
            json!({"id": "p1"}),
            &mine,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Prendre en charge") && html.contains("Coordonnées"),
        "{html}"
    );

    // Another association's staff: 404 on the page, the actions and the JSON route.
    for (route, path) in [
        ("GET /association/demandes/{id}", "/association/demandes/p1"),
        (
            "POST /association/demandes/{id}/prise-en-charge",
            "/association/demandes/p1/prise-en-charge",
        ),
    ] {
        let other_csrf = space.csrf(&other).await;
        let response = space
            .post(
                route,
                path,
                json!({"id": "p1"}),
                &format!("csrf={other_csrf}"),
                &other,
            )
            .await;
        assert_eq!(response.status(), 404, "{route}");
    }
    let mut json_route = page_event(
        "GET /v1/association/requests/{id}",
        "/v1/association/requests/p1",
        json!({"id": "p1"}),
        "",
        "",
        Some(&other),
    );
    json_route["headers"]["content-type"] = "application/json".into();
    assert_eq!(space.call(json_route.clone()).await.status(), 404);
    json_route["headers"]["cookie"] = mine.clone().into();
    assert_eq!(
        space.call(json_route).await.status(),
        200,
        "the JSON route takes a session"
    );

    // Acknowledge from the page, twice (the same as once); decline another with a reason.
    for _ in 0..2 {
        let response = space
            .post(
                "POST /association/demandes/{id}/prise-en-charge",
                "/association/demandes/p1/prise-en-charge",
                json!({"id": "p1"}),
                &format!("csrf={csrf}"),
                &mine,
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let response = space
        .post(
            "POST /association/demandes/{id}/refus",
            "/association/demandes/p2/refus",
            json!({"id": "p2"}),
            &format!("csrf={csrf}&reason=no"),
            &mine,
        )
        .await;
    assert_eq!(response.status(), 400, "a reason of 3 characters at least");
    assert!(text(&response).contains("3 à 500 caractères"));
    let response = space
        .post(
            "POST /association/demandes/{id}/refus",
            "/association/demandes/p2/refus",
            json!({"id": "p2"}),
            &format!("csrf={csrf}&reason=Pas+de+mentor+disponible"),
            &mine,
        )
        .await;
    assert_eq!(response.status(), 303);
    let taken = space
        .call(page_event(
            "GET /association/demandes",
            "/association/demandes",
            json!({}),
            "statut=prises-en-charge",
            "",
            Some(&mine),
        ))
        .await;
    let html = text(&taken);
    assert!(
        html.contains("À traiter (0)") && html.contains("Prises en charge (1)"),
        "{html}"
    );

    let journal = space.journal("mine").await;
    let actions: Vec<&str> = journal
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "request_acknowledged")
            .count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "request_declined").count(),
        1,
        "{actions:?}"
    );
    let text_of_journal = serde_json::to_string(&journal).unwrap();
    assert!(
        !text_of_journal.contains("Pas de mentor"),
        "no decline reason in the journal"
    );
    assert!(journal.iter().all(|e| e["actor"]["name"] != "Clé d'API"));
    assert!(
        space
            .journal("other")
            .await
            .iter()
            .all(|e| e["action"] == "member_invited")
    );
}

#[tokio::test]
async fn an_admin_sets_the_association_s_criteria_and_a_member_cannot() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let admin = space.sign_in("camille@mine.example").await;
    let csrf = space.csrf(&admin).await;
    let (status, html) = space
        .page(
            "GET /association/reglages",
            "/association/reglages",
            json!({}),
            &admin,
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"contact@mine.example\""), "{html}");

    let form = |changes: &str| {
        format!(
            "csrf={csrf}&contact_email=demandes%40mine.example&monthly_capacity=40&sla_days=10&mentor_intake=closed\
             &situation_rule=must&mode_rule=must&language_rule=off&needs_rule=weight&needs_weight=5\
             &field_rule=weight&field_weight=3&proximity_rule=weight&proximity_weight=3\
             &waiting_rule=weight&waiting_weight=1&waiting_cap_weeks=8&auto_publish=on{changes}"
        )
    };
    let stored = |table: &TestTable| {
        let table = table.store.clone();
        async move {
            shared::directory::read_association(&table, "mine")
                .await
                .unwrap()
                .unwrap()
        }
    };
    // A weight out of bounds, waiting as a must: 400, nothing stored.
    let refused = space
        .post(
            "POST /association/reglages",
            "/association/reglages",
            json!({}),
            &form("&needs_weight=5000&waiting_rule=must"),
            &admin,
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(text(&refused).contains("de 0 à 1000"));
    assert_eq!(
        stored(&space.table).await.contact_email,
        "contact@mine.example"
    );

    let saved = space
        .post(
            "POST /association/reglages",
            "/association/reglages",
            json!({}),
            &form(""),
            &admin,
        )
        .await;
    assert_eq!(saved.status(), 303, "{}", text(&saved));
    let record = stored(&space.table).await;
    assert_eq!(
        (
            record.contact_email.as_str(),
            record.monthly_capacity,
            record.sla_days,
            record.auto_publish
        ),
        ("demandes@mine.example", 40, 10, true)
    );
    assert_eq!(record.matching.language, shared::criteria::Rule::Off);
    assert_eq!(record.mentor_intake, shared::directory::Intake::Closed);
    assert!(
        space
            .journal("mine")
            .await
            .iter()
            .any(|e| e["action"] == "settings_changed")
    );

    // A member reads neither the page nor saves.
    let invite = format!("csrf={csrf}&name=Lou+Bernard&email=lou%40mine.example&role=member");
    space
        .post(
            "POST /association/equipe",
            "/association/equipe",
            json!({}),
            &invite,
            &admin,
        )
        .await;
    let member = space.sign_in("lou@mine.example").await;
    let member_csrf = space.csrf(&member).await;
    assert_eq!(
        space
            .page(
                "GET /association/reglages",
                "/association/reglages",
                json!({}),
                &member
            )
            .await
            .0,
        403
    );
    let body = form("").replace(&csrf, &member_csrf);
    let refused = space
        .post(
            "POST /association/reglages",
            "/association/reglages",
            json!({}),
            &body,
            &member,
        )
        .await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn admins_create_name_and_revoke_the_association_s_api_keys() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let admin = space.sign_in("camille@mine.example").await;
    let csrf = space.csrf(&admin).await;
    let inbox = |key: &str| {
        let mut event = base_event(
            "GET /v1/association/requests",
            "/v1/association/requests",
            json!({}),
            "",
            "",
        );
        event["headers"]["authorization"] = format!("Bearer {key}").into();
        event
    };

    let created = space
        .post(
            "POST /association/cles",
            "/association/cles",
            json!({}),
            &format!("csrf={csrf}&name=Tableur+de+suivi"),
            &admin,
        )
        .await;
    assert_eq!(created.status(), 201);
    let html = text(&created);
    let key = html
        .split("<code class=\"site-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the key, shown once")
        .to_owned();
    assert!(key.starts_with("bnm_mine_"), "{key}");
    assert_eq!(
        space.call(inbox(&key)).await.status(),
        200,
        "the new key opens the API"
    );
    let (_, listed) = space
        .page(
            "GET /association/cles",
            "/association/cles",
            json!({}),
            &admin,
        )
        .await;
    assert!(
        listed.contains("Tableur de suivi") && !listed.contains(&key),
        "listed, never shown again"
    );
    let stored = serde_json::to_string(&space.table.items().await).unwrap();
    assert!(!stored.contains(&key), "only the key's hash is stored");

    let id = shared::directory::key_hash(&key);
    let path = format!("/association/cles/{id}/revocation");
    // Without the form's token, nothing is revoked.
    let refused = space
        .post(
            "POST /association/cles/{id}/revocation",
            &path,
            json!({"id": id}),
            "",
            &admin,
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(space.call(inbox(&key)).await.status(), 200);
    let revoked = space
        .post(
            "POST /association/cles/{id}/revocation",
            &path,
            json!({"id": id}),
            &format!("csrf={csrf}"),
            &admin,
        )
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        space.call(inbox(&key)).await.status(),
        401,
        "a revoked key stops at once"
    );
    assert!(
        space
            .journal("mine")
            .await
            .iter()
            .any(|e| e["action"] == "api_key_revoked")
    );

    // A member sees none of it.
    let invite = format!("csrf={csrf}&name=Lou+Bernard&email=lou%40mine.example&role=member");
    space
        .post(
            "POST /association/equipe",
            "/association/equipe",
            json!({}),
            &invite,
            &admin,
        )
        .await;
    let member = space.sign_in("lou@mine.example").await;
    assert_eq!(
        space
            .page(
                "GET /association/cles",
                "/association/cles",
                json!({}),
                &member
            )
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn network_admins_see_the_directory_the_waiting_list_and_a_decision_and_staff_do_not() {
    let space = Space::new().await;
    let mine_key = space.association("mine", json!({})).await;
    let batch = store_verified(
        &space.table,
        &[
            verified_profile("p1", json!({})),
            verified_profile("p2", json!({"departement": "13", "postal_code": "13001"})),
        ],
    )
    .await;
    stream::deliver(&space.routing, &batch).await;
    let network = space.network_admin_signed_in().await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let staff = space.sign_in("camille@mine.example").await;

    let (status, html) = space
        .page(
            "GET /admin/annuaire",
            "/admin/annuaire",
            json!({}),
            &network,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Association mine") && html.contains("Désactiver"),
        "{html}"
    );
    let (status, html) = space
        .page("GET /admin/attente", "/admin/attente", json!({}), &network)
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("/admin/demandes/p2") && !html.contains("/admin/demandes/p1"),
        "{html}"
    );
    let (status, html) = space
        .page(
            "GET /admin/demandes/{id}",
            "/admin/demandes/p1",
            json!({"id": "p1"}),
            &network,
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Routée à mine"), "{html}");
    assert!(
        !html.contains("Benali") && !html.contains("@"),
        "no contact detail: {html}"
    );

    // The same from the admin key, and never from an association's key.
    let (status, body) = status_and_json(
        &space
            .call(json_event(
                "GET /v1/admin/waiting-list",
                "/v1/admin/waiting-list",
                json!({}),
                &json!(null),
            ))
            .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["requests"][0]["id"], "p2");
    assert_eq!(
        body["by_departement"],
        json!([{"departement": "13", "requests": 1, "longest_wait_days": 0}])
    );
    let (status, body) = status_and_json(
        &space
            .call(json_event(
                "GET /v1/admin/associations",
                "/v1/admin/associations",
                json!({}),
                &json!(null),
            ))
            .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["associations"][0]["slug"], "mine");
    assert_eq!(body["associations"][0]["routed_this_month"], 1);
    let mut with_staff_key = json_event(
        "GET /v1/admin/associations",
        "/v1/admin/associations",
        json!({}),
        &json!(null),
    );
    with_staff_key["headers"]["authorization"] = format!("Bearer {mine_key}").into();
    assert_eq!(space.call(with_staff_key).await.status(), 401);
    // The network's team, as its page shows it.
    let mut team = json_event(
        "GET /v1/admin/network-admins",
        "/v1/admin/network-admins",
        json!({}),
        &json!(null),
    );
    let (status, body) = status_and_json(&space.call(team.clone()).await);
    assert_eq!(status, 200, "{body}");
    let admins: Vec<(&str, &str, bool)> = body["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["email"].as_str().unwrap(),
                a["signed_in_at"].is_string(),
            )
        })
        .collect();
    assert_eq!(admins, [("Alex Durand", "alex@reseau.example", true)]);
    assert!(
        !body.to_string().contains("camille@mine.example"),
        "no association staff: {body}"
    );
    team["headers"]["authorization"] = format!("Bearer {mine_key}").into();
    assert_eq!(space.call(team).await.status(), 401);

    // A network admin has no association space; association staff no network pages.
    let (status, _) = space
        .page(
            "GET /association/demandes",
            "/association/demandes",
            json!({}),
            &network,
        )
        .await;
    assert_eq!(status, 303);
    // An association's link to a request (an old mail, a sign-in): the network's page of it.
    let sent = space
        .call(page_event(
            "GET /association/demandes/{id}",
            "/association/demandes/p1",
            json!({"id": "p1"}),
            "",
            "",
            Some(&network),
        ))
        .await;
    assert_eq!(sent.status(), 303);
    assert_eq!(sent.headers()["location"], "/admin/demandes/p1");
    for (route, path) in [
        ("GET /admin/annuaire", "/admin/annuaire"),
        ("GET /admin/attente", "/admin/attente"),
        ("GET /admin/equipe", "/admin/equipe"),
    ] {
        assert_eq!(
            space.page(route, path, json!({}), &staff).await.0,
            403,
            "{route}"
        );
    }

    // Deactivating takes the token of the network admin's session.
    let (_, html) = space
        .page(
            "GET /admin/annuaire",
            "/admin/annuaire",
            json!({}),
            &network,
        )
        .await;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let path = "/admin/annuaire/mine/activation";
    let refused = space
        .post(
            "POST /admin/annuaire/{slug}/activation",
            path,
            json!({"slug": "mine"}),
            "active=false",
            &network,
        )
        .await;
    assert_eq!(refused.status(), 403);
    let done = space
        .post(
            "POST /admin/annuaire/{slug}/activation",
            path,
            json!({"slug": "mine"}),
            &format!("csrf={csrf}&active=false"),
            &network,
        )
        .await;
    assert_eq!(done.status(), 303);
    assert!(
        !shared::directory::read_association(&space.table.store, "mine")
            .await
            .unwrap()
            .unwrap()
            .active
    );
}

#[tokio::test]
async fn a_sign_in_form_posted_from_another_site_is_refused() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let token = space.link_for("camille@mine.example").await;
    let body = format!("token={}", encode(&token));
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let mut event = page_event(
            "POST /connexion/lien",
            "/connexion/lien",
            json!({}),
            "",
            &body,
            None,
        );
        event["headers"][header] = value.into();
        let refused = space.call(event).await;
        assert_eq!(refused.status(), 403, "{header}");
        assert!(refused.headers().get("set-cookie").is_none());
    }
    // From the site itself, the same link works (it was not used up).
    let mut event = page_event(
        "POST /connexion/lien",
        "/connexion/lien",
        json!({}),
        "",
        &body,
        None,
    );
    event["headers"]["origin"] = "https://binome.test".into();
    event["headers"]["sec-fetch-site"] = "same-origin".into();
    assert_eq!(space.call(event).await.status(), 303);
}

#[tokio::test]
async fn staff_propose_one_of_a_mentee_s_suggested_mentors_and_other_associations_see_nothing() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    space.association("other", json!({})).await;
    crate::matching::held(&space.table, "mine", "jeune", "mentee", json!({})).await;
    crate::matching::held(&space.table, "mine", "mentor", "mentor", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    space
        .invite_first_admin("other", "alex@other.example")
        .await;
    let mine = space.sign_in("camille@mine.example").await;
    let other = space.sign_in("alex@other.example").await;

    let path = "/association/suggestions/jeune";
    let (status, html) = space
        .page(
            "GET /association/suggestions/{id}",
            path,
            json!({"id": "jeune"}),
            &mine,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Proposer ce binôme") && html.contains("Prénom-mentor"),
        "{html}"
    );
    let (status, _) = space
        .page(
            "GET /association/suggestions/{id}",
            path,
            json!({"id": "jeune"}),
            &other,
        )
        .await;
    assert_eq!(status, 404, "another association's mentee");

    let csrf = space.csrf(&mine).await;
    let proposed = space
        .post(
            "POST /association/suggestions/{id}",
            path,
            json!({"id": "jeune"}),
            &format!("csrf={csrf}&mentor=mentor"),
            &mine,
        )
        .await;
    assert_eq!(proposed.status(), 303, "{}", text(&proposed));
    let mails = space.table.outbox().await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m["mail"]["template"] == "pair_proposed")
            .count(),
        2
    );
    assert!(
        space
            .journal("mine")
            .await
            .iter()
            .any(|e| e["action"] == "pair_proposed")
    );
    // Proposed again: refused, nothing mailed twice.
    let again = space
        .post(
            "POST /association/suggestions/{id}",
            path,
            json!({"id": "jeune"}),
            &format!("csrf={csrf}&mentor=mentor"),
            &mine,
        )
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        space
            .table
            .outbox()
            .await
            .iter()
            .filter(|m| m["mail"]["template"] == "pair_proposed")
            .count(),
        2
    );
}

/// A JSON event of the association's routes with `key`, or with a staff
/// session's cookie and (for writes) its CSRF token.
enum Caller<'a> {
    Key(&'a str),
    Session {
        cookie: &'a str,
        csrf: Option<&'a str>,
    },
}

async fn association_api(
    space: &Space,
    caller: Caller<'_>,
    route: &str,
    path: &str,
    params: Value,
    body: Value,
) -> (u16, Value) {
    let mut event = json_event(route, path, params, &body);
    let headers = &mut event["headers"];
    headers.as_object_mut().unwrap().remove("authorization");
    match caller {
        Caller::Key(key) => headers["authorization"] = format!("Bearer {key}").into(),
        Caller::Session { cookie, csrf } => {
            headers["cookie"] = cookie.into();
            if let Some(csrf) = csrf {
                headers["x-csrf-token"] = csrf.into();
            }
        }
    }
    status_and_json(&space.call(event).await)
}

/// A named key created with the association's key: (the key, its id).
async fn named_key(space: &Space, key: &str, name: &str) -> (String, String) {
    let (status, created) = association_api(
        space,
        Caller::Key(key),
        "POST /v1/association/keys",
        "/v1/association/keys",
        json!({}),
        json!({"name": name}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (
        created["key"].as_str().unwrap().to_owned(),
        created["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_team_keys_settings_and_journal_answer_as_json_with_the_roles_and_isolation_of_the_pages()
 {
    let space = Space::new().await;
    let key = space.association("mine", json!({})).await;
    let other_key = space.association("other", json!({})).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let camille = space.sign_in("camille@mine.example").await;
    let camille_csrf = space.csrf(&camille).await;
    let mails = space.staff_mails().await;

    // The association's key invites a member, who gets the mail.
    let (status, invited) = association_api(
        &space,
        Caller::Key(&key),
        "POST /v1/association/team",
        "/v1/association/team",
        json!({}),
        json!({"name": "Dominique Petit", "email": "dominique@mine.example"}),
    )
    .await;
    assert_eq!(status, 202, "{invited}");
    assert_eq!(space.staff_mails().await, mails + 1);
    let dominique_id = invited["id"].as_str().unwrap().to_owned();
    let (status, refused) = association_api(
        &space,
        Caller::Key(&key),
        "POST /v1/association/team",
        "/v1/association/team",
        json!({}),
        json!({"name": "D", "email": "pas-une-adresse"}),
    )
    .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = refused["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email"]);
    assert_eq!(
        space.staff_mails().await,
        mails + 1,
        "nothing sent for a refused invitation"
    );

    let (status, team) = association_api(
        &space,
        Caller::Key(&key),
        "GET /v1/association/team",
        "/v1/association/team",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    let roles: Vec<(&str, &str)> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [("Camille Martin", "admin"), ("Dominique Petit", "member")]
    );

    // An admin's session changes a role with its CSRF token only, never their own.
    let role_path = format!("/v1/association/team/{dominique_id}/role");
    let role_params = json!({"id": dominique_id});
    let (status, body) = association_api(
        &space,
        Caller::Session {
            cookie: &camille,
            csrf: None,
        },
        "POST /v1/association/team/{id}/role",
        &role_path,
        role_params.clone(),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("csrf_token")));
    let (status, body) = association_api(
        &space,
        Caller::Session {
            cookie: &camille,
            csrf: Some(&camille_csrf),
        },
        "POST /v1/association/team/{id}/role",
        &role_path,
        role_params.clone(),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(
        (status, body["role"].as_str()),
        (200, Some("admin")),
        "{body}"
    );
    let camille_id = team["members"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = association_api(
        &space,
        Caller::Session {
            cookie: &camille,
            csrf: Some(&camille_csrf),
        },
        "POST /v1/association/team/{id}/role",
        &format!("/v1/association/team/{camille_id}/role"),
        json!({"id": camille_id}),
        json!({"role": "member"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("own_account")));
    let (status, _) = association_api(
        &space,
        Caller::Key(&key),
        "POST /v1/association/team/{id}/role",
        &role_path,
        role_params.clone(),
        json!({"role": "member"}),
    )
    .await;
    assert_eq!(status, 200);

    // A member reads none of the admins' routes.
    let dominique = space.sign_in("dominique@mine.example").await;
    for (route, path) in [
        ("GET /v1/association/team", "/v1/association/team"),
        ("GET /v1/association/keys", "/v1/association/keys"),
        ("GET /v1/association/journal", "/v1/association/journal"),
        ("GET /v1/association/settings", "/v1/association/settings"),
    ] {
        let (status, body) = association_api(
            &space,
            Caller::Session {
                cookie: &dominique,
                csrf: None,
            },
            route,
            path,
            json!({}),
            json!(null),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("admins_only")),
            "{route}"
        );
    }
    // Another association knows nobody of this team.
    for (route, path, body) in [
        (
            "POST /v1/association/team/{id}/role",
            role_path.clone(),
            json!({"role": "admin"}),
        ),
        (
            "DELETE /v1/association/team/{id}",
            format!("/v1/association/team/{dominique_id}"),
            json!(null),
        ),
    ] {
        let (status, _) = association_api(
            &space,
            Caller::Key(&other_key),
            route,
            &path,
            role_params.clone(),
            body,
        )
        .await;
        assert_eq!(status, 404, "{route}");
    }

    // A named key: shown once, works, then revoked at once.
    let (crm, crm_id) = named_key(&space, &key, "Notre CRM").await;
    let (status, listed) = association_api(
        &space,
        Caller::Key(&crm),
        "GET /v1/association/keys",
        "/v1/association/keys",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["origine", crm_id.as_str()]);
    assert!(!listed.to_string().contains(&crm), "a key is never listed");
    let revoke_path = format!("/v1/association/keys/{crm_id}");
    let (status, _) = association_api(
        &space,
        Caller::Key(&other_key),
        "DELETE /v1/association/keys/{id}",
        &revoke_path,
        json!({"id": crm_id}),
        json!(null),
    )
    .await;
    assert_eq!(status, 404, "another association's key");
    let (status, _) = association_api(
        &space,
        Caller::Key(&key),
        "DELETE /v1/association/keys/{id}",
        &revoke_path,
        json!({"id": crm_id}),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = association_api(
        &space,
        Caller::Key(&crm),
        "GET /v1/association/keys",
        "/v1/association/keys",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(status, 401, "a revoked key is refused at once");
    let (status, _) = association_api(
        &space,
        Caller::Key(&key),
        "DELETE /v1/association/keys/{id}",
        &revoke_path,
        json!({"id": crm_id}),
        json!(null),
    )
    .await;
    assert_eq!(status, 404, "revoked already");

    // Settings: every problem named at once and nothing saved, then saved.
    let (status, mut settings) = association_api(
        &space,
        Caller::Key(&key),
        "GET /v1/association/settings",
        "/v1/association/settings",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(
        (status, settings["monthly_capacity"].as_u64()),
        (200, Some(10))
    );
    let mut wrong = settings.clone();
    wrong["monthly_capacity"] = 200_000.into();
    wrong["sla_days"] = 0.into();
    wrong["matching"]["waiting"] = "must".into();
    wrong["matching"]["needs"] = json!({"weight": 1001});
    let (status, refused) = association_api(
        &space,
        Caller::Key(&key),
        "PUT /v1/association/settings",
        "/v1/association/settings",
        json!({}),
        wrong,
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    let mut fields: Vec<&str> = refused["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "matching.needs",
            "matching.waiting",
            "monthly_capacity",
            "sla_days"
        ]
    );
    let stored = shared::directory::read_association(&space.table.store, "mine")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.monthly_capacity, 10, "nothing saved");
    settings["monthly_capacity"] = 25.into();
    settings["auto_publish"] = true.into();
    settings["matching"]["field"] = "off".into();
    let (status, saved) = association_api(
        &space,
        Caller::Session {
            cookie: &camille,
            csrf: Some(&camille_csrf),
        },
        "PUT /v1/association/settings",
        "/v1/association/settings",
        json!({}),
        settings.clone(),
    )
    .await;
    assert_eq!((status, &saved), (200, &settings));
    let stored = shared::directory::read_association(&space.table.store, "mine")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.monthly_capacity,
            stored.auto_publish,
            stored.matching.field
        ),
        (25, true, shared::criteria::Rule::Off)
    );

    // Removed by the key: out at once.
    let (status, _) = association_api(
        &space,
        Caller::Key(&key),
        "DELETE /v1/association/team/{id}",
        &format!("/v1/association/team/{dominique_id}"),
        role_params.clone(),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = space
        .page(
            "GET /association/demandes",
            "/association/demandes",
            json!({}),
            &dominique,
        )
        .await;
    assert_eq!(status, 303, "signed out");

    // The journal names who did each, the key included.
    let (status, journal) = association_api(
        &space,
        Caller::Key(&key),
        "GET /v1/association/journal",
        "/v1/association/journal",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    let entries: Vec<(&str, &str)> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("member_invited", "Réseau binome"),
            ("member_invited", "Clé d'API"),
            ("member_role_changed", "Camille Martin"),
            ("member_role_changed", "Clé d'API"),
            ("api_key_created", "Clé d'API"),
            ("api_key_revoked", "Clé d'API"),
            ("settings_changed", "Camille Martin"),
            ("member_removed", "Clé d'API"),
        ]
    );
}

#[tokio::test]
async fn the_pool_lists_waiting_mentees_and_mentors_with_their_places_and_checks_for_its_own_staff_only()
 {
    let space = Space::new().await;
    let mine_key = space.association("mine", json!({})).await;
    space.association("other", json!({})).await;
    crate::matching::held(
        &space.table,
        "mine",
        "jeune",
        "mentee",
        json!({"birth_date": "2011-03-01"}),
    )
    .await;
    crate::matching::held(
        &space.table,
        "mine",
        "mentor-a",
        "mentor",
        json!({"first_name": "Sacha", "capacity": 3, "pairs_held": 1, "honorability": null}),
    )
    .await;
    crate::matching::held(
        &space.table, "mine", "mentor-b", "mentor",
        json!({"first_name": "Noa", "honorability": {"association": "mine", "checked_on": "2026-11-20", "by": "api_key", "by_name": "Clé d'API"}}),
    ).await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    space
        .invite_first_admin("other", "alex@other.example")
        .await;
    let mine = space.sign_in("camille@mine.example").await;
    let other = space.sign_in("alex@other.example").await;

    let (status, html) = space
        .page(
            "GET /association/vivier",
            "/association/vivier",
            json!({}),
            &mine,
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Jeunes en attente d'un binôme (1)") && html.contains("Mineur·e"),
        "{html}"
    );
    assert!(html.contains("/association/suggestions/jeune"), "{html}");
    assert!(
        html.contains("Mentors (2)")
            && html.contains("2 avec une place libre, 1 dont l'honorabilité est vérifiée"),
        "{html}"
    );
    let sacha = html.find("Sacha").expect("Sacha listed");
    let noa = html.find("Noa").expect("Noa listed");
    assert!(sacha < noa, "the mentor with the most places first");
    assert!(
        html.contains("Vérifiée le 20/11/2026, par Clé d&#39;API"),
        "{html}"
    );
    assert!(html.contains("À vérifier avant un·e mineur·e"), "{html}");

    // The same as JSON, with the association's key.
    let mut pool = json_event(
        "GET /v1/association/pool",
        "/v1/association/pool",
        json!({}),
        &json!(null),
    );
    pool["headers"]["authorization"] = format!("Bearer {mine_key}").into();
    let (status, body) = status_and_json(&space.call(pool).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["mentees"][0]["id"].as_str(),
            body["mentees"][0]["minor"].as_bool()
        ),
        (Some("jeune"), Some(true))
    );
    let mentors: Vec<(&str, u64, bool)> = body["mentors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap(),
                m["room"].as_u64().unwrap(),
                m["honorability"].is_null(),
            )
        })
        .collect();
    assert_eq!(mentors, [("mentor-a", 2, true), ("mentor-b", 1, false)]);
    assert!(
        !body.to_string().contains("@exemple.fr"),
        "no contact detail: {body}"
    );

    let (status, html) = space
        .page(
            "GET /association/vivier",
            "/association/vivier",
            json!({}),
            &other,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("Sacha") && html.contains("Jeunes en attente d'un binôme (0)"),
        "{html}"
    );
    let (status, _) = space
        .page(
            "GET /association/vivier",
            "/association/vivier",
            json!({}),
            "",
        )
        .await;
    assert_eq!(status, 303, "signed out: to the sign-in page");
}

#[tokio::test]
async fn the_pairs_page_lists_the_active_pairs_at_risk_first() {
    let space = Space::new().await;
    let key = space.association("mine", json!({})).await;
    let mut ids = Vec::new();
    for name in ["ines", "yanis"] {
        let mentor = format!("mentor-{name}");
        crate::matching::held(&space.table, "mine", name, "mentee", json!({})).await;
        crate::matching::held(&space.table, "mine", &mentor, "mentor", json!({})).await;
        let mut event = json_event(
            "POST /v1/association/pairs",
            "/v1/association/pairs",
            json!({}),
            &json!({"mentee_id": name, "mentor_id": mentor}),
        );
        event["headers"]["authorization"] = format!("Bearer {key}").into();
        let (status, proposed) = status_and_json(&space.call(event).await);
        assert_eq!(status, 201, "{proposed}");
        let id = proposed["id"].as_str().unwrap().to_owned();
        for side in [shared::people::Role::Mentee, shared::people::Role::Mentor] {
            matching::pairs::accept(&space.matching, &id, side, chrono::Utc::now())
                .await
                .unwrap();
        }
        ids.push(id);
    }
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let camille = space.sign_in("camille@mine.example").await;
    let (_, html) = space
        .page(
            "GET /association/binomes",
            "/association/binomes",
            json!({}),
            &camille,
        )
        .await;
    assert!(!html.contains("demande votre attention"), "{html}");
    // The pair listed last asks for help: it comes first, with a word above the list.
    let last = usize::from(html.find("Prénom-yanis").unwrap() > html.find("Prénom-ines").unwrap());
    let names = ["Prénom-ines", "Prénom-yanis"];
    let (at_risk, other) = (names[last], names[1 - last]);
    space
        .table
        .store
        .client
        .update_item()
        .table_name(&space.table.store.table)
        .set_key(Some(Key::pair(&ids[last]).attributes()))
        .update_expression("SET #risk = :risk")
        .expression_attribute_names("#risk", "risk")
        .expression_attribute_values(
            ":risk",
            serde_dynamo::to_attribute_value(
                json!({"reason": "needs_help", "since": "2026-12-01T09:00:00Z"}),
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (status, html) = space
        .page(
            "GET /association/binomes",
            "/association/binomes",
            json!({}),
            &camille,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Un binôme en cours demande votre attention"),
        "{html}"
    );
    assert!(
        html.find(at_risk).unwrap() < html.find(other).unwrap(),
        "at risk first: {html}"
    );
    assert!(html.contains("À risque"), "{html}");
}

#[tokio::test]
async fn network_admins_create_and_edit_directory_entries_from_their_pages() {
    let space = Space::new().await;
    space
        .association(
            "mine",
            json!({"auto_publish": true, "matching": {"field": "off"}}),
        )
        .await;
    let network = space.network_admin_signed_in().await;
    let (status, html) = space
        .page(
            "GET /admin/annuaire/nouvelle",
            "/admin/annuaire/nouvelle",
            json!({}),
            &network,
        )
        .await;
    assert_eq!(status, 200, "{html}");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let new = "POST /admin/annuaire/nouvelle";
    let path = "/admin/annuaire/nouvelle";

    // Every problem named, nothing stored; an identifier taken is refused.
    let refused = space.post(new, path, json!({}), &format!("csrf={csrf}&slug=Pas+valide&name=&contact_email=non&departements=99&min_age=abc&monthly_capacity=10"), &network).await;
    assert_eq!(refused.status(), 400);
    let html = text(&refused);
    for field in [
        "#slug",
        "#contact_email",
        "#departements",
        "#modes",
        "#min_age",
        "#needs",
    ] {
        assert!(
            html.contains(&format!("href=\"{field}\"")),
            "{field}: {html}"
        );
    }
    let taken = space.post(new, path, json!({}), &format!("csrf={csrf}&slug=mine&name=Autre&contact_email=a%40b.example&departements=93&modes=distance&needs=orientation&monthly_capacity=10"), &network).await;
    assert_eq!(taken.status(), 400);
    assert!(
        text(&taken).contains("déjà celui d&#39;une association")
            || text(&taken).contains("déjà celui d'une association"),
        "{}",
        text(&taken)
    );
    let without_token = space
        .post(
            new,
            path,
            json!({}),
            "slug=article-1&name=Article+1",
            &network,
        )
        .await;
    assert_eq!(without_token.status(), 403);
    assert!(
        shared::directory::read_association(&space.table.store, "article-1")
            .await
            .unwrap()
            .is_none()
    );

    // Created: the key is shown once and works.
    let form = "slug=article-1&name=Article+1&contact_email=demandes%40article1.example&departements=93%2C+95&modes=presentiel&modes=distance&needs=orientation&needs=insertion_pro&speciality_qpv=40&min_age=11&max_age=30&monthly_capacity=40&sla_days=7&programme_months=6&mentor_intake=open&notify=daily_digest&active=on";
    let created = space
        .post(
            new,
            path,
            json!({}),
            &format!("csrf={csrf}&{form}"),
            &network,
        )
        .await;
    assert_eq!(created.status(), 201, "{}", text(&created));
    let html = text(&created);
    let key = html
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("bnm_article-1_"), "{key}");
    let mut listed = json_event(
        "GET /v1/association/requests",
        "/v1/association/requests",
        json!({}),
        &json!(null),
    );
    listed["headers"]["authorization"] = format!("Bearer {key}").into();
    assert_eq!(space.call(listed).await.status(), 200);
    let stored = shared::directory::read_association(&space.table.store, "article-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.departements.len(), 2);
    assert_eq!(
        stored.specialities,
        vec![shared::directory::Speciality {
            group: shared::people::PriorityGroup::Qpv,
            weight: 40
        }]
    );
    assert_eq!(stored.notify, shared::directory::Notify::DailyDigest);

    // Edited: the form shows the entry; the association's own settings stay.
    let fiche = "/admin/annuaire/mine/fiche";
    let (status, html) = space
        .page(
            "GET /admin/annuaire/{slug}/fiche",
            fiche,
            json!({"slug": "mine"}),
            &network,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("value=\"contact@mine.example\"") && html.contains("value=\"93\""),
        "{html}"
    );
    let saved = space.post("POST /admin/annuaire/{slug}/fiche", fiche, json!({"slug": "mine"}), &format!("csrf={csrf}&name=Mine+et+Cie&contact_email=contact%40mine.example&departements=93&modes=distance&needs=orientation&min_age=15&max_age=25&monthly_capacity=12&sla_days=5&programme_months=9&mentor_intake=closed&notify=immediate&active=on"), &network).await;
    assert_eq!(saved.status(), 303, "{}", text(&saved));
    let stored = shared::directory::read_association(&space.table.store, "mine")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.name.as_str(),
            stored.min_age,
            stored.programme_months,
            stored.mentor_intake
        ),
        ("Mine et Cie", 15, 9, shared::directory::Intake::Closed)
    );
    assert!(
        stored.auto_publish,
        "the association's own settings are kept"
    );
    assert_eq!(stored.matching.field, shared::criteria::Rule::Off);

    // Association staff have none of these pages.
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let staff = space.sign_in("camille@mine.example").await;
    let (status, _) = space
        .page(
            "GET /admin/annuaire/{slug}/fiche",
            fiche,
            json!({"slug": "mine"}),
            &staff,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = space
        .page(
            "GET /admin/annuaire/{slug}/fiche",
            "/admin/annuaire/inconnue/fiche",
            json!({"slug": "inconnue"}),
            &network,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn another_association_s_staff_get_404_on_each_run_pair_request_team_and_key_action() {
    let space = Space::new().await;
    let key = space.association("mine", json!({})).await;
    space.association("other", json!({})).await;
    crate::matching::held(&space.table, "mine", "jeune", "mentee", json!({})).await;
    crate::matching::held(&space.table, "mine", "mentor", "mentor", json!({})).await;
    crate::matching::held(
        &space.table,
        "mine",
        "mentor2",
        "mentor",
        json!({"honorability": null}),
    )
    .await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    space
        .invite_first_admin("other", "alex@other.example")
        .await;
    let mine = space.sign_in("camille@mine.example").await;
    let other = space.sign_in("alex@other.example").await;
    let other_csrf = space.csrf(&other).await;

    // This association's pair, run and named key, made with its key.
    let (status, pair) = association_api(
        &space,
        Caller::Key(&key),
        "POST /v1/association/pairs",
        "/v1/association/pairs",
        json!({}),
        json!({"mentee_id": "jeune", "mentor_id": "mentor"}),
    )
    .await;
    assert_eq!(status, 201, "{pair}");
    let pair_id = pair["id"].as_str().unwrap().to_owned();
    let (status, run) = association_api(
        &space,
        Caller::Key(&key),
        "POST /v1/association/matching-runs",
        "/v1/association/matching-runs",
        json!({}),
        json!({}),
    )
    .await;
    assert_eq!(status, 202, "{run}");
    let run_id = run["id"].as_str().unwrap().to_owned();
    let (crm, crm_id) = named_key(&space, &key, "Notre CRM").await;
    let camille_id = keyring()
        .addresses
        .id_of(&shared::email::EmailAddress::parse("camille@mine.example").unwrap())
        .as_str()
        .to_owned();

    // Each page and action, with the other admin's own valid CSRF token.
    let posted = |fields: &str| format!("csrf={other_csrf}{fields}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for (route, path, id, body) in [
        (
            "GET /association/appariement/{id}",
            format!("/association/appariement/{run_id}"),
            run_id.as_str(),
            String::new(),
        ),
        (
            "POST /association/appariement/{id}/relecture",
            format!("/association/appariement/{run_id}/relecture"),
            run_id.as_str(),
            posted("&decision=approve_all"),
        ),
        (
            "POST /association/binomes/{id}/cloture",
            format!("/association/binomes/{pair_id}/cloture"),
            pair_id.as_str(),
            posted("&reason=completed"),
        ),
        (
            "POST /association/demandes/{id}/refus",
            "/association/demandes/jeune/refus".to_owned(),
            "jeune",
            posted("&reason=Pas+de+mentor+disponible"),
        ),
        (
            "POST /association/demandes/{id}/honorabilite",
            "/association/demandes/mentor2/honorabilite".to_owned(),
            "mentor2",
            posted(format!("&checked_on={today}").as_str()),
        ),
        (
            "POST /association/equipe/{id}/role",
            format!("/association/equipe/{camille_id}/role"),
            camille_id.as_str(),
            posted("&role=member"),
        ),
        (
            "POST /association/equipe/{id}/retrait",
            format!("/association/equipe/{camille_id}/retrait"),
            camille_id.as_str(),
            posted(""),
        ),
        (
            "POST /association/cles/{id}/revocation",
            format!("/association/cles/{crm_id}/revocation"),
            crm_id.as_str(),
            posted(""),
        ),
    ] {
        let response = space
            .post(route, &path, json!({"id": id}), &body, &other)
            .await;
        assert_eq!(response.status(), 404, "{route}: {}", text(&response));
    }

    // Nothing changed: the key works, the pair is proposed, the admin is in, nothing journaled.
    let (status, _) = association_api(
        &space,
        Caller::Key(&crm),
        "GET /v1/association/keys",
        "/v1/association/keys",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(status, 200, "the key still works");
    let (status, pairs) = association_api(
        &space,
        Caller::Session {
            cookie: &mine,
            csrf: None,
        },
        "GET /v1/association/pairs",
        "/v1/association/pairs",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(
        (status, pairs["pairs"][0]["status"].as_str()),
        (200, Some("proposed")),
        "{pairs}"
    );
    assert!(
        space
            .journal("other")
            .await
            .iter()
            .all(|e| e["action"] == "member_invited")
    );

    // The runs and the CSV export as JSON routes, by session: each association its own.
    for (session, own) in [(mine.as_str(), true), (other.as_str(), false)] {
        let (status, listed) = association_api(
            &space,
            Caller::Session {
                cookie: session,
                csrf: None,
            },
            "GET /v1/association/matching-runs",
            "/v1/association/matching-runs",
            json!({}),
            json!(null),
        )
        .await;
        assert_eq!(status, 200, "{listed}");
        let ids: Vec<&str> = listed["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.contains(&run_id.as_str()), own, "{listed}");
        let (status, csv) = association_api(
            &space,
            Caller::Session {
                cookie: session,
                csrf: None,
            },
            "GET /v1/association/pairs/export",
            "/v1/association/pairs/export",
            json!({}),
            json!(null),
        )
        .await;
        assert_eq!(status, 200, "{csv}");
        assert_eq!(csv.as_str().unwrap().contains(&pair_id), own, "{csv}");
    }
}

#[tokio::test]
async fn a_signed_in_network_admin_uses_the_admin_routes_with_the_session_s_csrf_token() {
    let space = Space::new().await;
    space.association("mine", json!({})).await;
    let network = space.network_admin_signed_in().await;
    space
        .invite_first_admin("mine", "camille@mine.example")
        .await;
    let staff = space.sign_in("camille@mine.example").await;
    let (status, html) = space
        .page("GET /admin/equipe", "/admin/equipe", json!({}), &network)
        .await;
    assert_eq!(status, 200, "{html}");
    let csrf = csrf_field(&html);
    let as_network = |csrf| Caller::Session {
        cookie: &network,
        csrf,
    };

    let (status, body) = association_api(
        &space,
        as_network(None),
        "GET /v1/admin/waiting-list",
        "/v1/admin/waiting-list",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let invitation = json!({"name": "Sam Petit", "email": "sam@reseau.example"});
    let (status, body) = association_api(
        &space,
        as_network(Some("jeton-faux")),
        "POST /v1/admin/network-admins",
        "/v1/admin/network-admins",
        json!({}),
        invitation.clone(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("csrf_token")));
    let (status, body) = association_api(
        &space,
        as_network(Some(&csrf)),
        "POST /v1/admin/network-admins",
        "/v1/admin/network-admins",
        json!({}),
        invitation,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let outbox = space.table.outbox().await;
    assert!(
        outbox.iter().any(|mail| {
            let mail = mail.to_string();
            mail.contains("Sam Petit") && mail.contains("Alex Durand")
        }),
        "the invitation names the network admin who sent it: {outbox:?}"
    );

    // Association staff signed in are not network admins.
    let (status, body) = association_api(
        &space,
        Caller::Session {
            cookie: &staff,
            csrf: None,
        },
        "GET /v1/admin/associations",
        "/v1/admin/associations",
        json!({}),
        json!(null),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_a_network_admin"))
    );
}
