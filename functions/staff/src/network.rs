//! The network's own team: its admins invite each other, and invite an
//! association's first admin from the directory. The first network admin
//! is invited with the admin key (`POST /v1/admin/network-admins`).

use askama::Template;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    directory::{read_association, valid_slug},
    email::EmailAddress,
    http::{self, ApiError},
    journal::Actor,
    pages::Page,
    site::{NetworkNav, html, paris_time, posted, see_other, unindexed},
    staff::{SignedIn, StaffAccount, StaffRole, in_network, read_network_team},
    store::StoreError,
};

use crate::{
    Staff,
    team::{InvitationForm, Refused, invitation_answer, invite, network_admins, valid_name},
};

const TEAM: &str = "/admin/equipe";

#[derive(Template)]
#[template(path = "network/team.html")]
struct TeamPage {
    nav: NetworkNav,
    /// (name, e-mail, last sign-in)
    members: Vec<(String, String, String)>,
    name: String,
    email: String,
    error: Option<String>,
    done: bool,
}

async fn render(
    app: &Staff,
    signed_in: &SignedIn,
    name: String,
    email: String,
    error: Option<String>,
    done: bool,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let mut team = read_network_team(&app.store).await?;
    team.sort_by(|a, b| a.name.cmp(&b.name));
    let page = TeamPage {
        nav: NetworkNav::new(signed_in, "equipe"),
        members: team
            .into_iter()
            .map(|account| {
                let last = account
                    .signed_in_at
                    .map_or_else(|| "Invitation pas encore utilisée".to_owned(), paris_time);
                (account.name, account.email, last)
            })
            .collect(),
        name,
        email,
        error,
        done,
    };
    Ok(unindexed(html(status, page.render())))
}

/// `GET /admin/equipe`
pub async fn page(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let signed_in = match in_network(&app.store, request, TEAM, Utc::now()).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let done = http::query_parameter(request, "fait").is_some();
            render(
                app,
                &signed_in,
                String::new(),
                String::new(),
                None,
                done,
                StatusCode::OK,
            )
            .await
        }
        .await,
        "Rien n'a été modifié",
    )
}

#[derive(Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

fn expired(back: &str) -> Response<Body> {
    Page::new(
        "Cette page a expiré",
        &["Rien n'a été modifié. Rechargez la page, puis recommencez."],
    )
    .with_link(back, "Revenir à la page")
    .respond(StatusCode::FORBIDDEN)
}

/// `POST /admin/equipe {name, email}`: another network admin.
pub async fn invited(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let signed_in = match in_network(&app.store, request, TEAM, now).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let form: InviteForm = posted(request).unwrap_or_default();
            if !signed_in.csrf_matches(form.csrf.as_deref()) {
                return Ok(expired(TEAM));
            }
            let (Some(name), Ok(address)) = (valid_name(&form.name), EmailAddress::parse(form.email.trim())) else {
                let error = "Indiquez le prénom et le nom (2 à 100 caractères) et une adresse e-mail valide.";
                return render(app, &signed_in, form.name.clone(), form.email.clone(), Some(error.into()), false, StatusCode::BAD_REQUEST).await;
            };
            match invite(app, None, Some(&signed_in.account), Actor::staff(&signed_in.account), name, &address, StaffRole::NetworkAdmin, now).await? {
                Ok(_) => Ok(see_other("/admin/equipe?fait=invitation")),
                Err(Refused::NotAllowed) => Ok(see_other(TEAM)),
                Err(Refused::Taken { .. }) => {
                    let error = "Cette adresse a déjà un compte binome : une adresse n'appartient qu'à une équipe.";
                    render(app, &signed_in, form.name.clone(), form.email.clone(), Some(error.into()), false, StatusCode::CONFLICT).await
                }
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// `POST /admin/annuaire/{slug}/administrateurs {name, email}`: an
/// association's first admin, invited from the directory.
pub async fn first_admin_page(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let signed_in = match in_network(&app.store, request, "/admin/annuaire", now).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => return Ok(refused),
            };
            let form: InviteForm = posted(request).unwrap_or_default();
            if !signed_in.csrf_matches(form.csrf.as_deref()) {
                return Ok(expired("/admin/annuaire"));
            }
            let slug = request
                .path_parameters_ref()
                .and_then(|p| p.first("slug"))
                .unwrap_or_default();
            let association = if valid_slug(slug) { read_association(&app.store, slug).await? } else { None };
            let refused = |heading: &str, text: &str, status| {
                Ok(Page::new(heading, &[text]).with_link("/admin/annuaire", "Revenir à l'annuaire").respond(status))
            };
            let Some(association) = association else {
                return refused("Association introuvable", "Cette association n'est pas dans l'annuaire.", StatusCode::NOT_FOUND);
            };
            let (Some(name), Ok(address)) = (valid_name(&form.name), EmailAddress::parse(form.email.trim())) else {
                return refused(
                    "Invitation incomplète",
                    "Indiquez le prénom et le nom (2 à 100 caractères) et une adresse e-mail valide.",
                    StatusCode::BAD_REQUEST,
                );
            };
            match invite(app, Some(&association), Some(&signed_in.account), Actor::staff(&signed_in.account), name, &address, StaffRole::Admin, now).await? {
                Ok(_) => Ok(see_other("/admin/annuaire?fait=invitation")),
                Err(Refused::NotAllowed) => Ok(see_other("/admin/annuaire")),
                Err(Refused::Taken { .. }) => refused(
                    "Adresse déjà utilisée",
                    "Cette adresse a déjà un compte binome : une adresse n'appartient qu'à une équipe.",
                    StatusCode::CONFLICT,
                ),
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

#[utoipa::path(
    post,
    path = "/v1/admin/network-admins",
    tag = "annuaire",
    operation_id = "directory_invite_network_admin",
    summary = "Inviter un·e administrateur·rice du réseau",
    description = "Crée le compte et envoie par e-mail un lien de connexion aux pages du réseau (annuaire, liste d'attente, décisions de routage), valable 7 jours et à usage unique. Sert à inviter la première personne ; ensuite, l'équipe du réseau s'invite depuis ses pages.",
    security(("admin" = [])),
    request_body(content = InvitationForm, content_type = "application/json"),
    responses(
        (status = 202, description = "Invitation envoyée.", body = crate::team::Invited),
        (status = 400, description = "Nom ou adresse invalide (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 409, description = "L'adresse a déjà un compte (`staff_exists`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/admin/network-admins {name, email}` (admin key)
pub async fn invite_network_admin(
    app: &Staff,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let by = shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now())
        .await?
        .map(|signed_in| signed_in.account);
    let form: InvitationForm = http::parse_json(request)?;
    let (name, address) = form.checked()?;
    let invited = invite(
        app,
        None,
        by.as_ref(),
        by.as_ref().map_or_else(network_admins, Actor::staff),
        name,
        &address,
        StaffRole::NetworkAdmin,
        Utc::now(),
    )
    .await?;
    invitation_answer(invited)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Un·e administrateur·rice du réseau.")]
pub struct NetworkAdmin {
    /// Identifiant opaque du compte.
    pub id: String,
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    pub invited_at: DateTime<Utc>,
    /// Sa dernière connexion ; absente tant que l'invitation n'a pas servi.
    pub signed_in_at: Option<DateTime<Utc>>,
}

impl From<StaffAccount> for NetworkAdmin {
    fn from(account: StaffAccount) -> Self {
        Self {
            id: account.id,
            name: account.name,
            email: account.email,
            invited_at: account.invited_at,
            signed_in_at: account.signed_in_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "L'équipe du réseau, par nom.")]
pub struct NetworkTeam {
    pub admins: Vec<NetworkAdmin>,
}

#[utoipa::path(
    get,
    path = "/v1/admin/network-admins",
    tag = "annuaire",
    operation_id = "directory_network_admins",
    summary = "L'équipe du réseau",
    description = "Les administrateur·rices du réseau, comme la page de l'équipe les montre : nom, adresse, invitation et dernière connexion.",
    security(("admin" = [])),
    responses((status = 200, description = "L'équipe du réseau.", body = NetworkTeam))
)]
/// `GET /v1/admin/network-admins` (admin key): the team as `/admin/equipe` shows it.
#[tracing::instrument(skip_all)]
pub async fn network_team(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now()).await?;
    let mut team = read_network_team(&app.store).await?;
    team.sort_by(|a, b| a.name.cmp(&b.name));
    let admins = team.into_iter().map(NetworkAdmin::from).collect();
    Ok(http::json(StatusCode::OK, &NetworkTeam { admins }))
}
