//! The association's team: every member sees it; its admins invite,
//! change a role and remove. An invitation makes the account and mails its
//! first sign-in link in one transaction with its journal entry; a removed
//! member's sessions stop at their next request (the account is read on
//! every one). Nobody changes or removes themselves, so a team always
//! keeps an admin.

use askama::Template;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    directory::{AssociationRecord, read_association, valid_slug},
    email::EmailAddress,
    http::{self, ApiError},
    journal::{Action, Actor, Entry},
    mail::{MailContent, OutboxMail},
    site::{SpaceNav, html, paris_time, posted, see_other, unindexed},
    staff::{
        self, Acting, INVITATION_LIFETIME, InSpace, SignInLink, StaffAccount, StaffRole, in_space,
        is_account_id, read_account, read_team,
    },
    store::{StoreError, cancellation_reasons, first_condition_failed, is_condition_failure},
};

use crate::{Staff, sign_in::link_path};

const TEAM: &str = "/association/equipe";

#[derive(Template)]
#[template(path = "space/team.html")]
struct TeamPage {
    nav: SpaceNav,
    members: Vec<Member>,
    invite: Invite,
    errors: Vec<(&'static str, String)>,
    done: Option<String>,
}

impl TeamPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }
}

struct Member {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    last_sign_in: String,
    is_self: bool,
    other_role: &'static str,
    other_role_action: &'static str,
}

#[derive(Debug, Default, Deserialize)]
struct Invite {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn render(
    app: &Staff,
    space: &InSpace,
    invite: Invite,
    errors: Vec<(&'static str, String)>,
    done: Option<String>,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let mut team = read_team(&app.store, &space.association.slug).await?;
    team.sort_by(|a, b| a.name.cmp(&b.name));
    let members = team
        .into_iter()
        .map(|account| {
            let (other_role, other_role_action) = match account.role {
                StaffRole::Admin => (StaffRole::Member, "Passer en membre"),
                StaffRole::Member | StaffRole::NetworkAdmin => {
                    (StaffRole::Admin, "Nommer administrateur·rice")
                }
            };
            Member {
                is_self: account.id == space.account().id,
                last_sign_in: account
                    .signed_in_at
                    .map_or_else(|| "Invitation pas encore utilisée".to_owned(), paris_time),
                role: account.role.label(),
                other_role: other_role.as_str(),
                other_role_action,
                id: account.id,
                name: account.name,
                email: account.email,
            }
        })
        .collect();
    let page = TeamPage {
        nav: space.nav("equipe"),
        members,
        invite,
        errors,
        done,
    };
    Ok(unindexed(html(status, page.render())))
}

/// `GET /association/equipe`
pub async fn page(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match in_space(&app.store, request, TEAM, Utc::now()).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let done = http::query_parameter(request, "fait").and_then(|done| done_text(&done));
            render(
                app,
                &space,
                Invite::default(),
                Vec::new(),
                done,
                StatusCode::OK,
            )
            .await
        }
        .await,
        "Rien n'a été modifié",
    )
}

fn done_text(code: &str) -> Option<String> {
    Some(
        match code {
            "invitation" => "Invitation envoyée.",
            "role" => "Rôle modifié.",
            "retrait" => "Membre retiré·e de l'équipe : ses sessions sont fermées.",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Why an invitation was not sent.
pub(crate) enum Refused {
    /// The address already has an account (here or in another association).
    Taken { here: bool },
    /// The one inviting no longer may.
    NotAllowed,
}

/// Makes the account and mails its first sign-in link, with the journal
/// entry, in one transaction. `team`: the association, or `None` for the
/// network's own admins; `by`: the staff member who invites, `None` for a
/// key (the admin key, or the association's own); `actor`: who the
/// journal names.
#[tracing::instrument(skip_all)]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn invite(
    app: &Staff,
    team: Option<&AssociationRecord>,
    by: Option<&StaffAccount>,
    actor: Actor,
    name: &str,
    address: &EmailAddress,
    role: StaffRole,
    now: DateTime<Utc>,
) -> Result<Result<StaffAccount, Refused>, StoreError> {
    let id = app.keyring.addresses.id_of(address).as_str().to_owned();
    let slug = team.map(|association| association.slug.clone());
    if let Some(existing) = read_account(&app.store, &id).await? {
        return Ok(Err(Refused::Taken {
            here: existing.association == slug,
        }));
    }
    let account = StaffAccount {
        id,
        association: slug,
        role,
        name: name.to_owned(),
        email: address.as_str().to_owned(),
        invited_at: now,
        invited_by: by.map(|by| by.id.clone()),
        signed_in_at: None,
    };
    let link = SignInLink::new(&app.keyring.tokens, &account, now, INVITATION_LIFETIME);
    let mut mail = OutboxMail::new(
        account.key(),
        MailContent::StaffInvitation {
            name: account.name.clone(),
            association_name: team
                .map_or_else(|| "l'équipe du réseau".to_owned(), |a| a.name.clone()),
            invited_by: match (by, team) {
                (Some(by), _) => by.name.clone(),
                (None, Some(association)) if actor == Actor::api_key() => association.name.clone(),
                (None, _) => "L'équipe du réseau binome".to_owned(),
            },
            sign_in_url: app.links.site(&link_path(&link.token, None)),
        },
        now,
    );
    // The mail holds a working link: not kept once the link has expired.
    mail.ttl = (now + INVITATION_LIFETIME).timestamp();
    let table = &app.store.table;
    let put_account = TransactWriteItem::builder()
        .put(
            aws_sdk_dynamodb::types::Put::builder()
                .table_name(table)
                .set_item(Some(account.item()?))
                .condition_expression("attribute_not_exists(pk)")
                .build()?,
        )
        .build();
    let mut writes = vec![
        put_account,
        link.transact_put(table)?,
        mail.transact_put(table)?,
    ];
    if let Some(by) = by {
        writes.push(by.still_acting(table)?);
    }
    if let Some(association) = team {
        let entry = Entry::new(actor, Action::MemberInvited, &account.id, now)
            .with_detail(member_detail(&account));
        writes.push(entry.transact_put(table, &association.slug)?);
    }
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(
                association = account.association.as_deref(),
                "staff member invited"
            );
            Ok(Ok(account))
        }
        // Invited by someone else meanwhile.
        Err(error) if first_condition_failed(&error) => Ok(Err(Refused::Taken { here: true })),
        // The one inviting was removed or demoted meanwhile.
        Err(error)
            if cancellation_reasons(&error)
                .is_some_and(|reasons| reasons.iter().any(is_condition_failure)) =>
        {
            Ok(Err(Refused::NotAllowed))
        }
        Err(error) => Err(error.into()),
    }
}

/// The journal's name for the network's admin key.
pub(crate) fn network_admins() -> Actor {
    Actor {
        id: "network".into(),
        name: "Réseau binome".into(),
    }
}

/// What the journal says of a member: their name and role (staff data).
fn member_detail(account: &StaffAccount) -> String {
    format!("{} ({})", account.name, account.role.label())
}

/// The name as typed, if it is one: 2 to 100 characters.
pub(crate) fn valid_name(name: &str) -> Option<&str> {
    let name = name.trim();
    ((2..=100).contains(&name.chars().count()) && !name.chars().any(char::is_control))
        .then_some(name)
}

/// `POST /association/equipe`: an admin invites a member.
pub async fn invited(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let space = match in_space(&app.store, request, TEAM, now).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let form: Invite = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), TEAM) {
                return Ok(refused);
            }
            if let Some(refused) = space.unless_admin("equipe") {
                return Ok(refused);
            }
            let mut errors = Vec::new();
            let name = valid_name(&form.name);
            if name.is_none() {
                errors.push(("name", "Indiquez le prénom et le nom (2 à 100 caractères).".to_owned()));
            }
            let address = EmailAddress::parse(form.email.trim()).ok();
            if address.is_none() {
                errors.push((
                    "email",
                    "Indiquez une adresse e-mail valide, par exemple camille@association.fr.".to_owned(),
                ));
            }
            let role = StaffRole::parse(&form.role).unwrap_or(StaffRole::Member);
            let (Some(name), Some(address)) = (name, address) else {
                return render(app, &space, form, errors, None, StatusCode::BAD_REQUEST).await;
            };
            let invited = invite(
                app,
                Some(&space.association),
                Some(space.account()),
                Actor::staff(space.account()),
                name,
                &address,
                role,
                now,
            )
            .await?;
            match invited {
                Ok(_) => Ok(see_other("/association/equipe?fait=invitation")),
                Err(Refused::NotAllowed) => Ok(see_other(TEAM)),
                Err(Refused::Taken { here }) => {
                    // The same words whichever team has it: no association
                    // learns who works for another.
                    let message = if here {
                        "Cette personne fait déjà partie de l'équipe."
                    } else {
                        "Cette adresse ne peut pas être invitée : demandez à la personne une autre adresse."
                    };
                    render(
                        app,
                        &space,
                        form,
                        vec![("email", message.to_owned())],
                        None,
                        StatusCode::CONFLICT,
                    )
                    .await
                }
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

#[derive(Debug, Default, Deserialize)]
struct MemberForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    role: String,
}

/// The member of `slug`'s team with this id, if there is one.
async fn team_member(
    app: &Staff,
    slug: &str,
    id: &str,
) -> Result<Option<StaffAccount>, StoreError> {
    if !is_account_id(id) {
        return Ok(None);
    }
    Ok(read_account(&app.store, id)
        .await?
        .filter(|member| member.association.as_deref() == Some(slug)))
}

fn member_id(request: &Request) -> &str {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default()
}

/// The member a team action is about, if they are in this team and not
/// the admin acting; otherwise the page that says why not.
async fn other_member(
    app: &Staff,
    space: &InSpace,
    request: &Request,
) -> Result<Result<StaffAccount, Response<Body>>, StoreError> {
    let Some(member) = team_member(app, &space.association.slug, member_id(request)).await? else {
        return Ok(Err(space.notice(
            "equipe",
            StatusCode::NOT_FOUND,
            "Membre introuvable",
            &["Cette personne ne fait pas (ou plus) partie de l'équipe."],
            (TEAM, "Revenir à l'équipe"),
        )));
    };
    if member.id == space.account().id {
        return Ok(Err(space.notice(
            "equipe",
            StatusCode::CONFLICT,
            "Action impossible sur votre propre compte",
            &["Pour que l'équipe garde toujours un·e administrateur·rice, un·e autre administrateur·rice doit changer votre rôle ou vous retirer."],
            (TEAM, "Revenir à l'équipe"),
        )));
    }
    Ok(Ok(member))
}

/// An admin's form about another member of the team: the space, the
/// member and the form; or the page that says why not (signed out, no
/// CSRF token, not an admin, not a member, themselves).
async fn acting_on_member(
    app: &Staff,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Result<(InSpace, StaffAccount, MemberForm), Response<Body>>, StoreError> {
    let space = match in_space(&app.store, request, TEAM, now).await? {
        Ok(space) => space,
        Err(sign_in) => return Ok(Err(sign_in)),
    };
    let form: MemberForm = posted(request).unwrap_or_default();
    if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), TEAM) {
        return Ok(Err(refused));
    }
    if let Some(refused) = space.unless_admin("equipe") {
        return Ok(Err(refused));
    }
    Ok(other_member(app, &space, request)
        .await?
        .map(|member| (space, member, form)))
}

/// Who changes the team: the association, the journal's actor, and the
/// staff member when it is one (`None` for the association's key).
pub(crate) struct TeamAdmin<'a> {
    slug: &'a str,
    actor: Actor,
    account: Option<&'a StaffAccount>,
}

impl<'a> TeamAdmin<'a> {
    fn of_space(space: &'a InSpace) -> Self {
        Self {
            slug: &space.association.slug,
            actor: Actor::staff(space.account()),
            account: Some(space.account()),
        }
    }

    fn of(acting: &'a Acting) -> Self {
        Self {
            slug: &acting.association.slug,
            actor: acting.actor.clone(),
            account: acting.account.as_ref(),
        }
    }
}

/// Gives `member` the role `role`, with its journal entry; `false` when
/// the member or the admin acting changed meanwhile (nothing written).
#[tracing::instrument(skip_all, fields(association = by.slug))]
async fn set_role(
    app: &Staff,
    by: &TeamAdmin<'_>,
    mut member: StaffAccount,
    role: StaffRole,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if role == member.role {
        return Ok(true);
    }
    member.role = role;
    let entry = Entry::new(by.actor.clone(), Action::MemberRoleChanged, &member.id, now)
        .with_detail(member_detail(&member));
    let update = Update::builder()
        .table_name(&app.store.table)
        .set_key(Some(member.key().attributes()))
        .update_expression("SET #role = :role")
        .condition_expression("association = :association AND invited_at = :invited_at")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":role", AttributeValue::S(role.as_str().into()))
        .expression_attribute_values(":association", AttributeValue::S(by.slug.to_owned()))
        .expression_attribute_values(
            ":invited_at",
            serde_dynamo::to_attribute_value(member.invited_at)?,
        )
        .build()?;
    change(
        app,
        by,
        TransactWriteItem::builder().update(update).build(),
        entry,
    )
    .await
}

/// Removes `member` from the team (their sessions stop at once), with its
/// journal entry; `false` when someone changed meanwhile.
#[tracing::instrument(skip_all, fields(association = by.slug))]
async fn remove(
    app: &Staff,
    by: &TeamAdmin<'_>,
    member: StaffAccount,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let entry = Entry::new(by.actor.clone(), Action::MemberRemoved, &member.id, now)
        .with_detail(member_detail(&member));
    let delete = Delete::builder()
        .table_name(&app.store.table)
        .set_key(Some(member.key().attributes()))
        .condition_expression("association = :association AND invited_at = :since")
        .expression_attribute_values(":association", AttributeValue::S(by.slug.to_owned()))
        .expression_attribute_values(
            ":since",
            serde_dynamo::to_attribute_value(member.invited_at)?,
        )
        .build()?;
    change(
        app,
        by,
        TransactWriteItem::builder().delete(delete).build(),
        entry,
    )
    .await
}

/// A team change with its journal entry; `false` when the member, or the
/// admin acting, changed meanwhile.
async fn change(
    app: &Staff,
    by: &TeamAdmin<'_>,
    write: TransactWriteItem,
    entry: Entry,
) -> Result<bool, StoreError> {
    let table = &app.store.table;
    let mut writes = vec![write, entry.transact_put(table, by.slug)?];
    if let Some(account) = by.account {
        writes.push(account.still_acting(table)?);
    }
    match app.store.transact(writes).await {
        Ok(_) => {
            tracing::info!(association = by.slug, "team changed");
            Ok(true)
        }
        Err(error)
            if cancellation_reasons(&error)
                .is_some_and(|reasons| reasons.iter().any(is_condition_failure)) =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

/// Back to the team page: saying what was done, or showing how things are
/// now when someone changed meanwhile.
fn back_to_team(done: bool, what: &str) -> Response<Body> {
    if done {
        see_other(&format!("/association/equipe?fait={what}"))
    } else {
        see_other(TEAM)
    }
}

/// `POST /association/equipe/{id}/role {role}`
pub async fn role_changed(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let (space, member, form) = match acting_on_member(app, request, now).await? {
                Ok(acting) => acting,
                Err(refused) => return Ok(refused),
            };
            let Some(role) = StaffRole::parse(&form.role) else {
                return Ok(space.notice(
                    "equipe",
                    StatusCode::BAD_REQUEST,
                    "Rôle inconnu",
                    &["Choisissez « membre » ou « administrateur·rice »."],
                    (TEAM, "Revenir à l'équipe"),
                ));
            };
            let done = set_role(app, &TeamAdmin::of_space(&space), member, role, now).await?;
            Ok(back_to_team(done, "role"))
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// `POST /association/equipe/{id}/retrait`
pub async fn removed(app: &Staff, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let (space, member, _) = match acting_on_member(app, request, now).await? {
                Ok(acting) => acting,
                Err(refused) => return Ok(refused),
            };
            let done = remove(app, &TeamAdmin::of_space(&space), member, now).await?;
            Ok(back_to_team(done, "retrait"))
        }
        .await,
        "Rien n'a été modifié",
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "La personne invitée : son nom, et l'adresse où l'invitation est envoyée.")]
pub struct InvitationForm {
    /// Prénom et nom (2 à 100 caractères).
    #[schema(min_length = 2, max_length = 100)]
    name: String,
    /// Où l'invitation est envoyée.
    #[schema(format = Email)]
    email: String,
}

impl InvitationForm {
    /// The name and address, or the 400 naming what to fix.
    pub(crate) fn checked(&self) -> Result<(&str, EmailAddress), ApiError> {
        checked_invitation(&self.name, &self.email)
    }
}

/// An invitation's name and address, or the 400 naming what to fix.
fn checked_invitation<'a>(name: &'a str, email: &str) -> Result<(&'a str, EmailAddress), ApiError> {
    let name = valid_name(name);
    let address = EmailAddress::parse(email.trim()).ok();
    match (name, address) {
        (Some(name), Some(address)) => Ok((name, address)),
        (name, address) => {
            let mut fields = Vec::new();
            if name.is_none() {
                fields.push(http::FieldError {
                    field: "name".into(),
                    message: "Indiquez le prénom et le nom (2 à 100 caractères).".into(),
                });
            }
            if address.is_none() {
                fields.push(http::FieldError {
                    field: "email".into(),
                    message: "Indiquez une adresse e-mail valide.".into(),
                });
            }
            Err(ApiError::invalid_fields(fields))
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    description = "L'invitation est envoyée : la personne reçoit un lien de connexion valable 7 jours."
)]
pub struct Invited {
    /// Identifiant opaque du compte.
    pub id: String,
    /// Toujours `invited`.
    #[schema(example = "invited")]
    pub status: &'static str,
}

/// The answer to an invitation made with the admin key.
pub(crate) fn invitation_answer(
    invited: Result<StaffAccount, Refused>,
) -> Result<Response<Body>, ApiError> {
    match invited {
        Ok(account) => Ok(http::json(
            StatusCode::ACCEPTED,
            &Invited {
                id: account.id,
                status: "invited",
            },
        )),
        // The admin key cannot be removed or demoted: a session's account was, meanwhile.
        Err(Refused::NotAllowed) => Err(changed_meanwhile()),
        Err(Refused::Taken { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "staff_exists",
            "Cette adresse a déjà un compte : une adresse n'appartient qu'à une équipe.",
        )),
    }
}

#[utoipa::path(
    post,
    path = "/v1/admin/associations/{slug}/admins",
    tag = "annuaire",
    operation_id = "directory_invite_first_admin",
    summary = "Inviter un·e administrateur·rice d'une association",
    description = "Crée le compte et envoie par e-mail un lien de connexion à l'espace de l'association, valable 7 jours et à usage unique. Ensuite, les administrateur·rices de l'association invitent elles-mêmes et eux-mêmes leur équipe.",
    security(("admin" = [])),
    params(
        ("slug" = String, Path, description = "Identifiant de l'association (minuscules, chiffres et tirets).", pattern = "^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$"),
    ),
    request_body(content = InvitationForm, content_type = "application/json"),
    responses(
        (status = 202, description = "Invitation envoyée.", body = Invited),
        (status = 400, description = "Nom ou adresse invalide (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Association inconnue (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "L'adresse a déjà un compte (`staff_exists`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/admin/associations/{slug}/admins {name, email}`
pub async fn first_admin(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let by = shared::staff::authorise_network(&app.store, &app.admin_key, request, Utc::now())
        .await?
        .map(|signed_in| signed_in.account);
    let slug = request
        .path_parameters_ref()
        .and_then(|p| p.first("slug"))
        .unwrap_or_default()
        .to_owned();
    let form: InvitationForm = http::parse_json(request)?;
    let (name, address) = form.checked()?;
    if !valid_slug(&slug) {
        return Err(ApiError::not_found());
    }
    let association = read_association(&app.store, &slug)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let invited = invite(
        app,
        Some(&association),
        by.as_ref(),
        by.as_ref().map_or_else(network_admins, Actor::staff),
        name,
        &address,
        StaffRole::Admin,
        Utc::now(),
    )
    .await?;
    invitation_answer(invited)
}

/// The roles an association's team has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// Gère l'équipe, les réglages, les clés d'API et lit le journal ; traite aussi les demandes.
    Admin,
    /// Traite les demandes et les binômes.
    #[default]
    Member,
}

impl From<TeamRole> for StaffRole {
    fn from(role: TeamRole) -> Self {
        match role {
            TeamRole::Admin => StaffRole::Admin,
            TeamRole::Member => StaffRole::Member,
        }
    }
}

impl TeamRole {
    fn of(role: StaffRole) -> Self {
        match role {
            StaffRole::Admin => TeamRole::Admin,
            StaffRole::Member | StaffRole::NetworkAdmin => TeamRole::Member,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Un membre de l'équipe de l'association.")]
pub struct TeamMember {
    /// Identifiant opaque du compte.
    pub id: String,
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    pub role: TeamRole,
    pub invited_at: DateTime<Utc>,
    /// Sa dernière connexion ; absente tant que l'invitation n'a pas servi.
    pub signed_in_at: Option<DateTime<Utc>>,
}

impl From<StaffAccount> for TeamMember {
    fn from(account: StaffAccount) -> Self {
        Self {
            id: account.id,
            name: account.name,
            email: account.email,
            role: TeamRole::of(account.role),
            invited_at: account.invited_at,
            signed_in_at: account.signed_in_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "L'équipe de l'association, par nom.")]
pub struct Team {
    pub members: Vec<TeamMember>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "La personne invitée dans l'équipe, et son rôle.")]
pub struct MemberInvitation {
    /// Prénom et nom (2 à 100 caractères).
    #[schema(min_length = 2, max_length = 100)]
    name: String,
    /// Où l'invitation est envoyée.
    #[schema(format = Email)]
    email: String,
    /// Par défaut : `member`.
    #[serde(default)]
    role: TeamRole,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "Le nouveau rôle du membre.")]
pub struct RoleChange {
    role: TeamRole,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "Le membre est retiré de l'équipe : ses sessions sont fermées.")]
pub struct MemberRemoved {
    pub id: String,
    /// Toujours `removed`.
    #[schema(example = "removed")]
    pub status: &'static str,
}

fn changed_meanwhile() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "changed_meanwhile",
        "L'équipe a changé entre-temps : relisez-la, puis recommencez.",
    )
}

/// The team's admin acting on a JSON route, and the member the path names
/// (never themselves: a team always keeps an admin).
async fn json_member(app: &Staff, request: &Request) -> Result<(Acting, StaffAccount), ApiError> {
    let acting = staff::acting(&app.store, request, Utc::now())
        .await?
        .admin()?;
    let member = team_member(app, &acting.association.slug, member_id(request))
        .await?
        .ok_or_else(ApiError::not_found)?;
    if acting
        .account
        .as_ref()
        .is_some_and(|account| account.id == member.id)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "Un·e autre administrateur·rice doit changer votre rôle ou vous retirer : l'équipe garde toujours un·e administrateur·rice.",
        ));
    }
    Ok((acting, member))
}

#[utoipa::path(
    get,
    path = "/v1/association/team",
    tag = "equipe",
    operation_id = "team_list",
    summary = "L'équipe de l'association",
    description = "Ses membres, leur rôle et leur dernière connexion. Réservé aux administrateur·rices (ou à une clé d'API de l'association).",
    security(("association" = [])),
    responses(
        (status = 200, description = "L'équipe.", body = Team),
        (status = 403, description = "Un·e membre qui n'est pas administrateur·rice (`admins_only`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/team`
pub async fn list(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let acting = staff::acting(&app.store, request, Utc::now())
        .await?
        .admin()?;
    let mut members = read_team(&app.store, &acting.association.slug).await?;
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let members = members.into_iter().map(TeamMember::from).collect();
    Ok(http::json(StatusCode::OK, &Team { members }))
}

#[utoipa::path(
    post,
    path = "/v1/association/team",
    tag = "equipe",
    operation_id = "team_invite",
    summary = "Inviter un membre dans l'équipe",
    description = "Crée le compte et envoie par e-mail un lien de connexion, valable 7 jours et à usage unique.",
    security(("association" = [])),
    request_body(content = MemberInvitation, content_type = "application/json"),
    responses(
        (status = 202, description = "Invitation envoyée.", body = Invited),
        (status = 400, description = "Nom ou adresse invalide (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 403, description = "Réservé aux administrateur·rices (`admins_only`), jeton CSRF manquant avec une session (`csrf_token`).", body = shared::http::ApiError),
        (status = 409, description = "L'adresse a déjà un compte (`staff_exists`), ou l'administrateur·rice a changé de rôle entre-temps (`changed_meanwhile`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/team {name, email, role}`
pub async fn invite_member(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let now = Utc::now();
    let acting = staff::acting(&app.store, request, now).await?.admin()?;
    let form: MemberInvitation = http::parse_json(request)?;
    let (name, address) = checked_invitation(&form.name, &form.email)?;
    let invited = invite(
        app,
        Some(&acting.association),
        acting.account.as_ref(),
        acting.actor.clone(),
        name,
        &address,
        form.role.into(),
        now,
    )
    .await?;
    match invited {
        Err(Refused::NotAllowed) => Err(changed_meanwhile()),
        invited => invitation_answer(invited),
    }
}

#[utoipa::path(
    post,
    path = "/v1/association/team/{id}/role",
    tag = "equipe",
    operation_id = "team_change_role",
    summary = "Changer le rôle d'un membre",
    description = "Le nouveau rôle vaut dès la requête suivante du membre. Personne ne change son propre rôle.",
    security(("association" = [])),
    params(("id" = String, Path, description = "Identifiant du compte (64 chiffres hexadécimaux).", pattern = "^[0-9a-f]{64}$")),
    request_body(content = RoleChange, content_type = "application/json"),
    responses(
        (status = 200, description = "Rôle changé.", body = TeamMember),
        (status = 400, description = "Corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 403, description = "Réservé aux administrateur·rices (`admins_only`), jeton CSRF manquant avec une session (`csrf_token`).", body = shared::http::ApiError),
        (status = 404, description = "Pas dans l'équipe (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Son propre compte (`own_account`), ou l'équipe a changé entre-temps (`changed_meanwhile`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/team/{id}/role {role}`
pub async fn change_role(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let (acting, member) = json_member(app, request).await?;
    let change: RoleChange = http::parse_json(request)?;
    let role = StaffRole::from(change.role);
    if !set_role(
        app,
        &TeamAdmin::of(&acting),
        member.clone(),
        role,
        Utc::now(),
    )
    .await?
    {
        return Err(changed_meanwhile());
    }
    let member = StaffAccount { role, ..member };
    Ok(http::json(StatusCode::OK, &TeamMember::from(member)))
}

#[utoipa::path(
    delete,
    path = "/v1/association/team/{id}",
    tag = "equipe",
    operation_id = "team_remove",
    summary = "Retirer un membre de l'équipe",
    description = "Ses sessions sont fermées aussitôt. Personne ne se retire soi-même.",
    security(("association" = [])),
    params(("id" = String, Path, description = "Identifiant du compte (64 chiffres hexadécimaux).", pattern = "^[0-9a-f]{64}$")),
    responses(
        (status = 200, description = "Membre retiré·e.", body = MemberRemoved),
        (status = 403, description = "Réservé aux administrateur·rices (`admins_only`), jeton CSRF manquant avec une session (`csrf_token`).", body = shared::http::ApiError),
        (status = 404, description = "Pas (ou plus) dans l'équipe (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Son propre compte (`own_account`), ou l'équipe a changé entre-temps (`changed_meanwhile`).", body = shared::http::ApiError),
    )
)]
/// `DELETE /v1/association/team/{id}`
pub async fn remove_member(app: &Staff, request: &Request) -> Result<Response<Body>, ApiError> {
    let (acting, member) = json_member(app, request).await?;
    let id = member.id.clone();
    if !remove(app, &TeamAdmin::of(&acting), member, Utc::now()).await? {
        return Err(changed_meanwhile());
    }
    Ok(http::json(
        StatusCode::OK,
        &MemberRemoved {
            id,
            status: "removed",
        },
    ))
}
