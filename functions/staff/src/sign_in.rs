//! Signing in by a mailed link, and out. The sign-in page answers the same
//! for a known and an unknown address, no sooner than the response floor;
//! the mailed link opens a page with a button, so that a mail scanner
//! following it does not use it up; the button's POST signs in.

use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use shared::{
    email::EmailAddress,
    http::{self, FieldError},
    mail::{MailContent, OutboxMail},
    pages::{FormButton, Page},
    site::{Field, FormPage, Section, TextField, posted, see_other},
    staff::{
        self, SIGN_IN_LIFETIME, SignInLink, SignInRefused, cleared_cookie, read_account,
        safe_destination,
    },
    store::StoreError,
    tokens::{Purpose, TokenError},
};

use crate::Staff;

/// Sign-in requests allowed per address, and per client address, in a window.
const PER_ADDRESS: u32 = 5;
const PER_CLIENT: u32 = 30;
const QUOTA_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

const HEADING: &str = "Connexion à l'espace association";

#[derive(Debug, Default, Deserialize)]
struct Asked {
    #[serde(default)]
    email: String,
}

fn form(email: &str, next: Option<&str>) -> FormPage {
    let action = match next {
        Some(next) => format!(
            "/connexion?suite={}",
            url::form_urlencoded::byte_serialize(safe_destination(Some(next)).as_bytes())
                .collect::<String>()
        ),
        None => "/connexion".to_owned(),
    };
    FormPage {
        title: HEADING.into(),
        intro: vec![
            "Pour les équipes des associations du réseau. Indiquez l'adresse e-mail de votre compte : nous y envoyons un lien de connexion, valable 15 minutes.".into(),
        ],
        link: None,
        action,
        sections: vec![Section {
            id: None,
            legend: "Votre compte".into(),
            hint: None,
            fields: vec![Field::Text(
                TextField::new("email", "Adresse e-mail", "email", email)
                    .required()
                    .autocomplete("email")
                    .max_length(254),
            )],
        }],
        submit: "Recevoir un lien de connexion".into(),
        errors: Vec::new(),
    }
}

/// `GET /connexion?suite=`: the form.
pub fn page(request: &Request) -> Response<Body> {
    let next = http::query_parameter(request, "suite");
    let mut page = form("", next.as_deref());
    if http::query_parameter(request, "sortie").is_some() {
        page.intro.insert(0, "Vous êtes déconnecté·e.".into());
    }
    page.respond(StatusCode::OK)
}

/// Whether a sign-in form was posted from another site: refused, so that
/// nobody can sign a visitor into an account of theirs (login CSRF).
fn cross_site(app: &Staff, request: &Request) -> bool {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    match header("sec-fetch-site") {
        Some(site) => site != "same-origin",
        // Older browsers: the Origin, unless hidden ("null": the site's
        // pages send no referrer, which hides it on their own forms too).
        None => {
            header("origin").is_some_and(|origin| origin != "null" && origin != app.links.site(""))
        }
    }
}

fn from_elsewhere() -> Response<Body> {
    Page::new(
        "Connexion refusée",
        &["Ce formulaire ne vient pas de binome. Ouvrez la page de connexion du site, puis recommencez."],
    )
    .with_link("/connexion", "Aller à la connexion")
    .respond(StatusCode::FORBIDDEN)
}

/// `POST /connexion`: a link is mailed if the address has an account; the
/// answer is the same either way.
pub async fn asked(app: &Staff, request: &Request) -> Response<Body> {
    if cross_site(app, request) {
        return from_elsewhere();
    }
    let started = tokio::time::Instant::now();
    let next = http::query_parameter(request, "suite");
    let asked: Asked = posted(request).unwrap_or_default();
    let Ok(address) = EmailAddress::parse(asked.email.trim()) else {
        let error = FieldError {
            field: "email".into(),
            message: "Indiquez une adresse e-mail valide, par exemple camille@association.fr."
                .into(),
        };
        return form(&asked.email, next.as_deref())
            .with_errors(&[error], |_| None)
            .respond(StatusCode::BAD_REQUEST);
    };
    let answer = mail_link(app, request, &address, next.as_deref()).await;
    tokio::time::sleep_until(started + app.response_floor).await;
    match answer {
        Ok(true) => Page::new(
            "Vérifiez votre boîte mail",
            &[
                "Si un compte existe pour cette adresse, un lien de connexion vient d'y être envoyé. Il est valable 15 minutes et ne sert qu'une fois.",
                "Rien reçu ? Regardez dans les courriers indésirables, ou demandez à un·e administrateur·rice de votre association de vérifier votre adresse.",
            ],
        )
        .respond(StatusCode::OK),
        Ok(false) => Page::new(
            "Trop de demandes de connexion",
            &["Plusieurs liens ont déjà été demandés en peu de temps. Utilisez le dernier reçu, ou réessayez dans 15 minutes."],
        )
        .with_link("/connexion", "Revenir à la connexion")
        .respond(StatusCode::TOO_MANY_REQUESTS),
        Err(_) => Page::unavailable("Aucun lien n'a été envoyé"),
    }
}

/// Mails a sign-in link when the address has an account; `false` when the
/// address or the client asked too often.
#[tracing::instrument(skip_all)]
async fn mail_link(
    app: &Staff,
    request: &Request,
    address: &EmailAddress,
    next: Option<&str>,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    let id = app.keyring.addresses.id_of(address);
    let client = app
        .keyring
        .addresses
        .id_of_client(http::source_ip(request).unwrap_or("unknown"));
    let store = &app.store;
    if !staff::take_quota(
        store,
        "sign_in_client",
        &client,
        PER_CLIENT,
        QUOTA_WINDOW,
        now,
    )
    .await?
        || !staff::take_quota(
            store,
            "sign_in_address",
            id.as_str(),
            PER_ADDRESS,
            QUOTA_WINDOW,
            now,
        )
        .await?
    {
        return Ok(false);
    }
    let Some(account) = read_account(store, id.as_str()).await? else {
        return Ok(true);
    };
    let link = SignInLink::new(&app.keyring.tokens, &account, now, SIGN_IN_LIFETIME);
    let mut mail = OutboxMail::new(
        account.key(),
        MailContent::StaffSignIn {
            name: account.name.clone(),
            sign_in_url: app.links.site(&link_path(&link.token, next)),
        },
        now,
    );
    // The mail holds a working link: not kept once the link has expired.
    mail.ttl = (now + SIGN_IN_LIFETIME).timestamp();
    store
        .transact(vec![
            link.transact_put(&store.table)?,
            mail.transact_put(&store.table)?,
        ])
        .await?;
    tracing::info!(association = account.association, "sign-in link queued");
    Ok(true)
}

/// The sign-in page a link opens, coming back to `next` once signed in.
pub(crate) fn link_path(token: &str, next: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("token", token);
    if let Some(next) = next {
        query.append_pair("suite", safe_destination(Some(next)));
    }
    format!("/connexion/lien?{}", query.finish())
}

fn refused(refusal: SignInRefused) -> Response<Body> {
    let (status, heading, text) = match refusal {
        SignInRefused::Invalid => (
            StatusCode::BAD_REQUEST,
            "Lien invalide",
            "Ce lien de connexion est incomplet ou abîmé. Copiez-le en entier depuis l'e-mail, ou demandez-en un nouveau.",
        ),
        SignInRefused::Expired => (
            StatusCode::GONE,
            "Lien expiré",
            "Ce lien de connexion n'est plus valable. Demandez-en un nouveau : il arrive en quelques instants.",
        ),
        SignInRefused::Used => (
            StatusCode::GONE,
            "Lien déjà utilisé",
            "Chaque lien de connexion ne sert qu'une fois. Demandez-en un nouveau.",
        ),
    };
    Page::new(heading, &[text])
        .with_link("/connexion", "Recevoir un nouveau lien")
        .respond(status)
}

/// `GET /connexion/lien?token=&suite=`: a button that signs in. The token
/// is only checked here; it is used by the POST.
pub fn link_page(app: &Staff, request: &Request) -> Response<Body> {
    let token = http::query_parameter(request, "token").unwrap_or_default();
    match app
        .keyring
        .tokens
        .verify(&token, Purpose::StaffSignIn, Utc::now())
    {
        Ok(_) => {}
        Err(TokenError::Expired) => return refused(SignInRefused::Expired),
        Err(_) => return refused(SignInRefused::Invalid),
    }
    let mut hidden = vec![("token".to_owned(), token)];
    if let Some(next) = http::query_parameter(request, "suite") {
        hidden.push(("suite".into(), safe_destination(Some(&next)).to_owned()));
    }
    Page::new(
        HEADING,
        &["Ce lien ne sert qu'une fois : le bouton ouvre votre espace sur cet appareil."],
    )
    .with_form(FormButton {
        action: "/connexion/lien".into(),
        label: "Me connecter".into(),
        hidden,
        secondary: false,
    })
    .respond(StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
struct LinkUsed {
    #[serde(default)]
    token: String,
    #[serde(default)]
    suite: Option<String>,
}

/// `POST /connexion/lien`: a new session, the link used up, then the page
/// asked for.
pub async fn link_used(app: &Staff, request: &Request) -> Response<Body> {
    if cross_site(app, request) {
        return from_elsewhere();
    }
    let used: LinkUsed = posted(request).unwrap_or_default();
    match staff::sign_in(&app.store, &app.keyring.tokens, &used.token, Utc::now()).await {
        Ok(Ok(opened)) => {
            let mut response = see_other(safe_destination(used.suite.as_deref()));
            response.headers_mut().insert(
                "set-cookie",
                opened
                    .set_cookie
                    .parse()
                    .expect("a cookie we built is a valid header"),
            );
            response
        }
        Ok(Err(refusal)) => refused(refusal),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            Page::unavailable("Vous n'êtes pas connecté·e")
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct SignOut {
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /deconnexion`: the session ends here and in the browser.
pub async fn sign_out(app: &Staff, request: &Request) -> Response<Body> {
    let form: SignOut = posted(request).unwrap_or_default();
    let signed_in = match staff::signed_in(&app.store, request, Utc::now()).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::error!(%error, "reading the session failed");
            return Page::unavailable("Vous êtes toujours connecté·e");
        }
    };
    if let Some(signed_in) = signed_in {
        if !signed_in.csrf_matches(form.csrf.as_deref()) {
            return Page::new(
                "Cette page a expiré",
                &["Vous êtes toujours connecté·e. Rechargez la page, puis recommencez."],
            )
            .with_link("/association/demandes", "Revenir à l'espace")
            .respond(StatusCode::FORBIDDEN);
        }
        if let Err(error) = staff::sign_out(&app.store, &signed_in).await {
            tracing::error!(%error, "signing out failed");
            return Page::unavailable("Vous êtes toujours connecté·e");
        }
    }
    let mut response = see_other("/connexion?sortie=1");
    response.headers_mut().insert(
        "set-cookie",
        cleared_cookie()
            .parse()
            .expect("a cookie we built is a valid header"),
    );
    response
}
