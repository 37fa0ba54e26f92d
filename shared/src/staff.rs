//! The staff space's accounts and sessions, as every function serving its
//! pages reads them (OWASP ASVS level 2 for sessions):
//!
//! - an account belongs to one association with a role, keyed by the
//!   opaque id of its address (never the address);
//! - sign-in is a mailed link, single use: the link's signed token names a
//!   sign-in item that one transaction deletes while it opens the session;
//! - the session cookie (`__Host-`, `HttpOnly`, `Secure`, `SameSite=Lax`)
//!   carries a 256-bit random id; the table keeps only its SHA-256, with an
//!   idle expiry of 8 hours and an absolute one of 7 days;
//! - every request reads the account again: a removed member, or one whose
//!   account was made again since, is refused at once, and a role change
//!   applies at once;
//! - each session holds its own random CSRF token, which every
//!   state-changing form (or the `X-CSRF-Token` header) must carry.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response, http::StatusCode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    directory::{AssociationRecord, authenticate, read_association},
    http::ApiError,
    journal::Actor,
    site::{SpaceNav, SpaceNotice, see_other, sign_in_first},
    store::{Item, Key, Store, StoreError, keys::index, timestamp},
    tokens::{Purpose, TokenError, TokenKey},
};

/// The session cookie. `__Host-`: set only over HTTPS, for this host and
/// path `/`, never by a sub-domain.
pub const SESSION_COOKIE: &str = "__Host-binome_session";
/// How long a mailed sign-in link works.
pub const SIGN_IN_LIFETIME: Duration = Duration::minutes(15);
/// How long an invitation's first sign-in link works.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);
/// A session unused this long is over.
pub const SESSION_IDLE: Duration = Duration::hours(8);
/// A session is over this long after sign-in, used or not.
pub const SESSION_ABSOLUTE: Duration = Duration::days(7);
/// A session's last use is written at most this often (not on every page).
const TOUCH_EVERY: Duration = Duration::minutes(5);

/// What a staff member may do in their association's space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Manages the team, the settings and the API keys, and works the inbox.
    Admin,
    /// Works the inbox and the pairs.
    Member,
    /// Runs the network: the directory, the waiting list; no association.
    NetworkAdmin,
}

impl StaffRole {
    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Admin => "Administrateur·rice",
            StaffRole::Member => "Membre",
            StaffRole::NetworkAdmin => "Administrateur·rice du réseau",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(StaffRole::Admin),
            "member" => Some(StaffRole::Member),
            // Only the network's admins make network admins: not a team's choice.
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Member => "member",
            StaffRole::NetworkAdmin => "network_admin",
        }
    }
}

/// A staff member's account (`STAFF#<address id>` / `ACCOUNT`), listed in
/// its association's team (`by_association`, `TEAM#<slug>`), or, for the
/// network's admins, in the network's (`NETWORK_TEAM`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffAccount {
    /// The opaque id of the address.
    pub id: String,
    /// The association; `None` for the network's admins.
    #[serde(default)]
    pub association: Option<String>,
    pub role: StaffRole,
    pub name: String,
    /// Where sign-in links go (the attribute the mailer reads).
    pub email: String,
    /// When this account was made: a session opened before then is not its own.
    pub invited_at: DateTime<Utc>,
    /// Who invited them; `None`: the network's admins.
    #[serde(default)]
    pub invited_by: Option<String>,
    /// Their last sign-in; `None`: the invitation is still unused.
    #[serde(default)]
    pub signed_in_at: Option<DateTime<Utc>>,
}

impl StaffAccount {
    pub fn key(&self) -> Key {
        Key::staff_account(&self.id)
    }

    /// The account as stored, listed in its team.
    pub fn item(&self) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(self)?;
        for (name, value) in self.key().attributes() {
            item.insert(name, value);
        }
        let team = match &self.association {
            Some(slug) => index::team(slug),
            None => index::NETWORK_TEAM.to_owned(),
        };
        item.insert("assoc_pk".into(), AttributeValue::S(team));
        item.insert("assoc_sk".into(), AttributeValue::S(self.id.clone()));
        Ok(item)
    }

    pub fn is_admin(&self) -> bool {
        self.role == StaffRole::Admin
    }

    /// A check, in the transaction of what this account does, that it is
    /// still there with the role it acted with (not removed, demoted or
    /// made again meanwhile).
    pub fn still_acting(&self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(self.key().attributes()))
            .condition_expression("#role = :role AND invited_at = :since")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", AttributeValue::S(self.role.as_str().into()))
            .expression_attribute_values(
                ":since",
                serde_dynamo::to_attribute_value(self.invited_at)?,
            )
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

/// One account, if there is one for this address id.
#[tracing::instrument(skip_all)]
pub async fn read_account(store: &Store, id: &str) -> Result<Option<StaffAccount>, StoreError> {
    let item = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::staff_account(id).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}

/// An association's team, by address id.
#[tracing::instrument(skip_all, fields(association = slug))]
pub async fn read_team(store: &Store, slug: &str) -> Result<Vec<StaffAccount>, StoreError> {
    let items = crate::store::query_all(store.by_association(index::team(slug), None)).await?;
    Ok(items
        .into_iter()
        .map(serde_dynamo::from_item)
        .collect::<Result<_, _>>()?)
}

/// The network admins' accounts.
#[tracing::instrument(skip_all)]
pub async fn read_network_team(store: &Store) -> Result<Vec<StaffAccount>, StoreError> {
    let items =
        crate::store::query_all(store.by_association(index::NETWORK_TEAM.to_owned(), None)).await?;
    Ok(items
        .into_iter()
        .map(serde_dynamo::from_item)
        .collect::<Result<_, _>>()?)
}

/// Whether `id` can be an address id (32 hex digits): checked before any
/// key is built from what a client sent.
pub fn is_account_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A single-use sign-in link about to be mailed: its token and the item
/// that makes it usable once.
pub struct SignInLink {
    pub token: String,
    pub item: Item,
}

impl SignInLink {
    /// A link for `account`, working for `lifetime`.
    pub fn new(
        tokens: &TokenKey,
        account: &StaffAccount,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Self {
        let subject = format!("{}:{}", account.id, hex::encode(&random_id()[..16]));
        let token = tokens.issue(Purpose::StaffSignIn, &subject, now, lifetime);
        let key = Key::staff_sign_in(&sign_in_id(&subject));
        let item = Item::from([
            ("pk".into(), AttributeValue::S(key.pk)),
            ("sk".into(), AttributeValue::S(key.sk)),
            ("staff".into(), AttributeValue::S(account.id.clone())),
            (
                "ttl".into(),
                AttributeValue::N((now + lifetime).timestamp().to_string()),
            ),
        ]);
        Self { token, item }
    }

    /// The write that stores it, in the transaction that mails it.
    pub fn transact_put(&self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(self.item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn sign_in_id(subject: &str) -> String {
    hex::encode(Sha256::digest(subject.as_bytes()))
}

/// Why a sign-in link does not sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    /// Damaged, forged or for another purpose.
    Invalid,
    Expired,
    /// Used already, or its account was removed.
    Used,
}

/// A session just opened: the cookie to set.
#[derive(Debug)]
pub struct Opened {
    pub account: StaffAccount,
    pub set_cookie: String,
}

/// Signs in with a mailed link: in one transaction, the link's item is
/// deleted (so it works once), the account is marked signed in (and must
/// still exist), and a new session is stored. Any session the browser held
/// before is not reused (no fixation): the cookie names the new one.
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    store: &Store,
    tokens: &TokenKey,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<Opened, SignInRefused>, StoreError> {
    let subject = match tokens.verify(token, Purpose::StaffSignIn, now) {
        Ok(verified) => verified.subject,
        Err(TokenError::Expired) => return Ok(Err(SignInRefused::Expired)),
        Err(TokenError::Invalid | TokenError::WrongPurpose) => {
            return Ok(Err(SignInRefused::Invalid));
        }
    };
    let Some((staff_id, _)) = subject.split_once(':').filter(|(id, _)| is_account_id(id)) else {
        return Ok(Err(SignInRefused::Invalid));
    };
    let Some(account) = read_account(store, staff_id).await? else {
        return Ok(Err(SignInRefused::Used));
    };
    let (session_id, session) = Session::open(&account, now);
    let link = Key::staff_sign_in(&sign_in_id(&subject));
    let writes = vec![
        TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&store.table)
                    .set_key(Some(link.attributes()))
                    .condition_expression("staff = :staff")
                    .expression_attribute_values(":staff", AttributeValue::S(account.id.clone()))
                    .build()?,
            )
            .build(),
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(&store.table)
                    .set_key(Some(account.key().attributes()))
                    .update_expression("SET signed_in_at = :now")
                    .condition_expression("invited_at = :invited_at")
                    .expression_attribute_values(":now", AttributeValue::S(timestamp(now)))
                    // As stored: serde's full precision, not `timestamp`'s seconds.
                    .expression_attribute_values(
                        ":invited_at",
                        serde_dynamo::to_attribute_value(account.invited_at)?,
                    )
                    .build()?,
            )
            .build(),
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&store.table)
                    .set_item(Some(session.item()?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()?,
            )
            .build(),
    ];
    match store.transact(writes).await {
        Ok(_) => {
            tracing::info!(
                association = account.association.as_deref(),
                "staff signed in"
            );
            Ok(Ok(Opened {
                account,
                set_cookie: session_cookie(&session_id),
            }))
        }
        Err(error)
            if crate::store::cancellation_reasons(&error)
                .is_some_and(|reasons| reasons.iter().any(crate::store::is_condition_failure)) =>
        {
            Ok(Err(SignInRefused::Used))
        }
        Err(error) => Err(error.into()),
    }
}

/// A session as stored (`SESSION#<SHA-256 of its id>` / `SESSION`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    #[serde(skip)]
    hash: String,
    staff: String,
    /// The account's `invited_at`: a session survives neither its account's
    /// removal nor its making again.
    account_since: DateTime<Utc>,
    csrf: String,
    created_at: DateTime<Utc>,
    seen_at: DateTime<Utc>,
    ttl: i64,
}

impl Session {
    /// A new session for `account`: its id (the cookie's value) and record.
    fn open(account: &StaffAccount, now: DateTime<Utc>) -> (String, Self) {
        let id = URL_SAFE_NO_PAD.encode(random_id());
        let session = Self {
            hash: session_hash(&id),
            staff: account.id.clone(),
            account_since: account.invited_at,
            csrf: URL_SAFE_NO_PAD.encode(random_id()),
            created_at: now,
            seen_at: now,
            ttl: (now + SESSION_ABSOLUTE).timestamp(),
        };
        (id, session)
    }

    fn item(&self) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(self)?;
        for (name, value) in Key::staff_session(&self.hash).attributes() {
            item.insert(name, value);
        }
        Ok(item)
    }

    fn over(&self, now: DateTime<Utc>) -> bool {
        now - self.seen_at > SESSION_IDLE || now - self.created_at > SESSION_ABSOLUTE
    }
}

fn random_id() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn session_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The `Set-Cookie` value naming a new session: a browser-session cookie
/// (closing the browser of a shared computer forgets it), the table
/// enforcing the idle and absolute expiries.
fn session_cookie(id: &str) -> String {
    cookie::Cookie::build((SESSION_COOKIE, id.to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build()
        .to_string()
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn cleared_cookie() -> String {
    cookie::Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

/// The session id the request's cookie names, if any.
fn presented_session(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .flatten()
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|id| (1..=64).contains(&id.len()))
}

/// A signed-in staff member, as the current request shows them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: StaffAccount,
    session_hash: String,
    csrf: String,
}

impl SignedIn {
    /// The token every state-changing form of this session carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| p.as_bytes().ct_eq(self.csrf.as_bytes()).into())
    }
}

/// The staff member whose live session the request's cookie names; `None`
/// without a cookie, for an unknown, expired or ended session, or when the
/// account was removed (or made again) since the session was opened.
#[tracing::instrument(skip_all)]
pub async fn signed_in(
    store: &Store,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(id) = presented_session(request) else {
        return Ok(None);
    };
    let hash = session_hash(&id);
    let item = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::staff_session(&hash).attributes()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    let Some(session) = item
        .map(serde_dynamo::from_item::<_, Session>)
        .transpose()?
    else {
        return Ok(None);
    };
    if session.over(now) {
        return Ok(None);
    }
    let Some(account) = read_account(store, &session.staff).await? else {
        return Ok(None);
    };
    if account.invited_at != session.account_since {
        return Ok(None);
    }
    if now - session.seen_at > TOUCH_EVERY {
        touch(store, &hash, now).await?;
    }
    Ok(Some(SignedIn {
        account,
        session_hash: hash,
        csrf: session.csrf,
    }))
}

/// Records a session's use (its idle expiry starts again).
#[tracing::instrument(skip_all)]
async fn touch(store: &Store, hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(Key::staff_session(hash).attributes()))
        .update_expression("SET seen_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":now", AttributeValue::S(timestamp(now)))
        .send()
        .await;
    match result {
        // Signed out meanwhile: this request still ends as it began.
        Err(error) if crate::store::condition_failed(&error) => Ok(()),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// Signs out: the session is deleted (the cookie is cleared by the caller).
#[tracing::instrument(skip_all)]
pub async fn sign_out(store: &Store, signed_in: &SignedIn) -> Result<(), StoreError> {
    store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(
            Key::staff_session(&signed_in.session_hash).attributes(),
        ))
        .send()
        .await?;
    Ok(())
}

/// A signed-in staff member with their association: who a page of the
/// space is for.
#[derive(Debug, Clone)]
pub struct InSpace {
    pub signed_in: SignedIn,
    pub association: AssociationRecord,
}

impl InSpace {
    pub fn account(&self) -> &StaffAccount {
        &self.signed_in.account
    }

    /// The page's header, with `current` as the section shown.
    pub fn nav(&self, current: &'static str) -> SpaceNav {
        SpaceNav::new(&self.signed_in, &self.association.name, current)
    }

    /// A message page of the space.
    pub fn notice(
        &self,
        current: &'static str,
        status: StatusCode,
        heading: &str,
        paragraphs: &[&str],
        next: (&str, &str),
    ) -> Response<Body> {
        SpaceNotice {
            nav: self.nav(current),
            heading: heading.to_owned(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
            next: (next.0.to_owned(), next.1.to_owned()),
        }
        .respond(status)
    }

    /// Refuses a form without this session's CSRF token (403): the page
    /// was opened in another session, or the form did not come from us.
    pub fn csrf_refused(&self, presented: Option<&str>, back: &str) -> Option<Response<Body>> {
        if self.signed_in.csrf_matches(presented) {
            return None;
        }
        Some(self.notice(
            section_of(back),
            StatusCode::FORBIDDEN,
            "Cette page a expiré",
            &["Rien n'a été enregistré. Rechargez la page, puis recommencez."],
            (back, "Revenir à la page"),
        ))
    }

    /// 403 for a member on a page or action of the association's admins.
    pub fn unless_admin(&self, current: &'static str) -> Option<Response<Body>> {
        if self.account().is_admin() {
            return None;
        }
        Some(self.notice(
            current,
            StatusCode::FORBIDDEN,
            "Réservé aux administrateur·rices",
            &["Seul·es les administrateur·rices de l'association gèrent l'équipe, les réglages et les clés d'API, et lisent le journal. Demandez à l'un·e d'entre elles ou eux."],
            ("/association/demandes", "Revenir aux demandes"),
        ))
    }
}

/// The section of the space a page belongs to, for its header.
fn section_of(path: &str) -> &'static str {
    let section = path.trim_start_matches("/association/").split('/').next();
    match section {
        Some("appariement") => "appariement",
        Some("vivier") => "vivier",
        Some("binomes") => "binomes",
        Some("equipe") => "equipe",
        Some("reglages") => "reglages",
        Some("cles") => "cles",
        Some("journal") => "journal",
        _ => "demandes",
    }
}

/// The staff member signed in on this request, with their association; or
/// the page that sends them to sign in first (and back to `path` after).
#[tracing::instrument(skip_all)]
pub async fn in_space(
    store: &Store,
    request: &Request,
    path: &str,
    now: DateTime<Utc>,
) -> Result<Result<InSpace, Response<Body>>, StoreError> {
    let Some(signed_in) = signed_in(store, request, now).await? else {
        return Ok(Err(sign_in_first(path)));
    };
    let Some(slug) = signed_in.account.association.as_deref() else {
        // A network admin: their pages are the network's.
        return Ok(Err(see_other(&network_page_of(path))));
    };
    let Some(association) = read_association(store, slug).await? else {
        return Ok(Err(sign_in_first(path)));
    };
    Ok(Ok(InSpace {
        signed_in,
        association,
    }))
}

/// The network admins' page for a page of an association's space: a
/// request's routing decision for its page (as a mail's link or a sign-in
/// brings them there), their home for any other.
fn network_page_of(path: &str) -> String {
    match path.strip_prefix("/association/demandes/") {
        Some(id)
            if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!("/admin/demandes/{id}")
        }
        _ => "/admin".to_owned(),
    }
}

/// The network admin signed in on this request; or the page that sends
/// them to sign in first (and back to `path`), or that tells association
/// staff these pages are not theirs.
#[tracing::instrument(skip_all)]
pub async fn in_network(
    store: &Store,
    request: &Request,
    path: &str,
    now: DateTime<Utc>,
) -> Result<Result<SignedIn, Response<Body>>, StoreError> {
    let Some(signed_in) = signed_in(store, request, now).await? else {
        return Ok(Err(sign_in_first(path)));
    };
    if signed_in.account.role != StaffRole::NetworkAdmin {
        return Ok(Err(crate::pages::Page::new(
            "Réservé au réseau",
            &["Ces pages sont celles des administrateur·rices du réseau binome."],
        )
        .with_link("/association", "Revenir à l'espace de votre association")
        .respond(StatusCode::FORBIDDEN)));
    }
    Ok(Ok(signed_in))
}

/// Who acts on an association's JSON route: a program holding one of the
/// association's API keys, or a signed-in staff member of it.
#[derive(Debug, Clone)]
pub struct Acting {
    pub association: AssociationRecord,
    pub actor: Actor,
    /// The staff member; `None` for a program with a key.
    pub account: Option<StaffAccount>,
}

impl Acting {
    /// 403 for a member on a route of the association's admins. A key is
    /// the association's own: its admins made it, and may revoke it.
    pub fn admin(self) -> Result<Self, ApiError> {
        match &self.account {
            Some(account) if !account.is_admin() => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admins_only",
                "Réservé aux administrateur·rices de l'association : l'équipe, les réglages, les clés d'API et le journal.",
            )),
            _ => Ok(self),
        }
    }

    /// The check, for a change's transaction, that the staff member acting
    /// still has the role they acted with (nothing to check for a key).
    pub fn still_acting(&self, table: &str) -> Result<Option<TransactWriteItem>, StoreError> {
        self.account
            .as_ref()
            .map(|account| account.still_acting(table))
            .transpose()
    }
}

/// A JSON route's writes with a session carry its CSRF token in `X-CSRF-Token`.
fn header_csrf_checked(signed_in: &SignedIn, request: &Request) -> Result<(), ApiError> {
    let safe = matches!(request.method().as_str(), "GET" | "HEAD");
    let token = request
        .headers()
        .get("x-csrf-token")
        .and_then(|value| value.to_str().ok());
    if safe || signed_in.csrf_matches(token) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_token",
            "En-tête X-CSRF-Token manquant ou invalide : reprenez celui de la page de l'espace.",
        ))
    }
}

/// Who may call a `/v1/admin` route of the staff space: the network admins'
/// key (`None`), or a signed-in network admin, whose writes carry their
/// session's CSRF token in `X-CSRF-Token`.
#[tracing::instrument(skip_all)]
pub async fn authorise_network(
    store: &Store,
    admin_key: &crate::directory::AdminKey,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, ApiError> {
    if crate::directory::bearer(request).is_some() {
        return admin_key.check(request).map(|()| None);
    }
    let Some(signed_in) = signed_in(store, request, now).await? else {
        // Neither: the key's own refusal says what to send.
        return admin_key.check(request).map(|()| None);
    };
    header_csrf_checked(&signed_in, request)?;
    if signed_in.account.role == StaffRole::NetworkAdmin {
        Ok(Some(signed_in))
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_network_admin",
            "Réservé aux administrateur·rices du réseau : les associations passent par /v1/association.",
        ))
    }
}

/// The association a JSON route acts for, and who acts: a program with the
/// association's API key, or a signed-in staff member (whose writes carry
/// the session's CSRF token in `X-CSRF-Token`).
#[tracing::instrument(skip_all)]
pub async fn authorise(
    store: &Store,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(AssociationRecord, Actor), ApiError> {
    let acting = acting(store, request, now).await?;
    Ok((acting.association, acting.actor))
}

/// [`authorise`], with the staff member's account for the routes that
/// depend on their role.
#[tracing::instrument(skip_all)]
pub async fn acting(
    store: &Store,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Acting, ApiError> {
    if crate::directory::bearer(request).is_some() {
        return Ok(Acting {
            association: authenticate(store, request).await?,
            actor: Actor::api_key(),
            account: None,
        });
    }
    let Some(signed_in) = signed_in(store, request, now).await? else {
        // Neither: the key's own refusal says what to send.
        return Err(authenticate(store, request)
            .await
            .err()
            .unwrap_or_else(ApiError::not_found));
    };
    header_csrf_checked(&signed_in, request)?;
    let Some(slug) = signed_in.account.association.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_an_association",
            "Cette route est celle d'une association : les administrateur·rices du réseau passent par /v1/admin.",
        ));
    };
    let association = read_association(store, slug)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Acting {
        association,
        actor: Actor::staff(&signed_in.account),
        account: Some(signed_in.account),
    })
}

/// Where to go after signing in: only a page of the staff space, so that a
/// crafted link cannot send someone elsewhere.
pub fn safe_destination(next: Option<&str>) -> &str {
    const DEFAULT: &str = "/association/demandes";
    let Some(next) = next else { return DEFAULT };
    let in_space = next == "/association"
        || next.starts_with("/association/")
        || next == "/admin"
        || next.starts_with("/admin/");
    let plain = next
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'?' | b'=' | b'&'));
    if in_space && plain && !next.contains("//") && next.len() <= 200 {
        next
    } else {
        DEFAULT
    }
}

/// Takes one of `limit` uses allowed per `window` to `subject` (an opaque
/// id) for `scope`; `false` once they are all taken. Counted in the table,
/// so that every function instance shares the count.
#[tracing::instrument(skip_all, fields(scope = %scope))]
pub async fn take_quota(
    store: &Store,
    scope: &str,
    subject: &str,
    limit: u32,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let seconds = window.num_seconds().max(1);
    let slot = now.timestamp().div_euclid(seconds);
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(Key::quota(scope, subject, slot).attributes()))
        .update_expression("ADD uses :one SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(uses) OR uses < :limit")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
        .expression_attribute_values(
            ":ttl",
            AttributeValue::N(((slot + 2) * seconds).to_string()),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if crate::store::condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_only_http_only_secure_and_lax() {
        let cookie = session_cookie("abc");
        assert!(cookie.starts_with("__Host-binome_session=abc;"), "{cookie}");
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(
            !cookie.contains("Domain") && !cookie.contains("Max-Age"),
            "{cookie}"
        );
        assert!(cleared_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn only_pages_of_the_space_are_destinations() {
        for next in [
            "/association/demandes/abc",
            "/association",
            "/admin/annuaire",
            "/admin/demandes/abc",
        ] {
            assert_eq!(safe_destination(Some(next)), next);
        }
        for next in [
            "https://evil.example/",
            "//evil.example/association/",
            "/association/../../x",
            "/associationx",
            "/association/\\evil",
            "/",
        ] {
            assert_eq!(
                safe_destination(Some(next)),
                "/association/demandes",
                "{next}"
            );
        }
    }

    #[test]
    fn a_network_admin_is_sent_to_the_network_s_page_of_a_request() {
        assert_eq!(
            network_page_of("/association/demandes/p1"),
            "/admin/demandes/p1"
        );
        for path in [
            "/association/demandes",
            "/association/demandes/",
            "/association/demandes/p1/refus",
            "/association/equipe",
        ] {
            assert_eq!(network_page_of(path), "/admin", "{path}");
        }
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let now = Utc::now();
        let account = StaffAccount {
            id: "0".repeat(32),
            association: Some("a".into()),
            role: StaffRole::Member,
            name: "N".into(),
            email: "n@exemple.fr".into(),
            invited_at: now,
            invited_by: None,
            signed_in_at: None,
        };
        let (id, mut session) = Session::open(&account, now);
        assert_eq!(URL_SAFE_NO_PAD.decode(&id).unwrap().len(), 32);
        assert_ne!(session.hash, id);
        assert!(!session.over(now + Duration::hours(7)));
        assert!(session.over(now + Duration::hours(9)));
        session.seen_at = now + Duration::days(6) + Duration::hours(23);
        assert!(!session.over(now + Duration::days(7)));
        assert!(session.over(now + Duration::days(7) + Duration::minutes(1)));
    }
}
