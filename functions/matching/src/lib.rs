//! Matching: the best set of mentor–mentee pairs for an association's whole
//! pool (`algorithm`, pure), proposals both people answer by mailed links,
//! and the pairs' lifecycle until they end.
//!
//! - `algorithm`: candidates and an exact min-cost flow, explained pairs;
//! - `pool`: the association's waiting mentees and mentors with room;
//! - `pairs`: propose, accept, decline, close, check-in and survey answers
//!   (conditional transactions applying `shared::pair`);
//! - `programme`: the end of a pair's programme, answered and extended;
//! - `runs`: runs started from the table's stream, the nightly schedule
//!   (runs for `auto_matching` associations). The pairs' follow-up is the
//!   `reminders` function's.
//!
//! Two Lambda functions run this crate: `matching` (HTTP) and
//! `matching-events` (the stream and the nightly schedule).
//!
//! | route                                              | what it does                                  |
//! |----------------------------------------------------|-----------------------------------------------|
//! | `POST /v1/association/matching-runs`               | 202 with a run id; the run goes on in the background |
//! | `GET  /v1/association/matching-runs`               | the latest runs, the one in review marked     |
//! | `GET  /v1/association/matching-runs/{id}`          | status and summary                            |
//! | `GET  /v1/association/mentees/{id}/suggestions`    | the best mentors for one mentee, with reasons |
//! | `POST /v1/association/pairs`                       | a manual proposal                             |
//! | `POST /v1/association/pairs/{id}/close`            | the pair ends; the place is freed             |
//! | `GET`, `POST /v1/pairs/answer?token=`              | a person accepts or declines a proposal       |
//! | `GET  /v1/association/pairs?status&at_risk`        | the association's pairs, with their follow-up |
//! | `GET  /v1/association/pairs/export`                | the same pairs as the page's CSV export       |
//! | `GET`, `POST /v1/pairs/check-in?token=&answer=`    | a person answers a monthly check-in           |
//! | `GET`, `POST /v1/pairs/outcome?token=`             | a person answers the six-month survey         |
//! | `GET`, `POST /v1/pairs/programme?token=&answer=`   | a person says whether they go on at the programme's end |
//! | `POST /v1/association/pairs/{id}/programme`        | the association sets a longer (or shorter) programme |
//! | `POST /v1/association/matching-runs/{id}/approve`, `…/reject` | a run's drafts approved (proposed) or rejected |
//! | `GET`, `POST /association/appariement`             | the staff space: runs, start one              |
//! | `GET /association/appariement/{id}`, `POST …/relecture` | a run's page: its drafts reviewed        |
//! | `GET /association/binomes`, `POST …/{id}/cloture`, `GET …/export` | the pairs, closed, exported as CSV |
//! | `GET`, `POST /association/suggestions/{id}`        | a mentee's best mentors; one proposed by hand |
//! | `GET /association/vivier`, `GET /v1/association/pool` | the pool: waiting mentees, mentors with their places and checks |
//!
//! The association routes take the association's API key or a staff session.

pub mod algorithm;
pub mod contract;
pub mod drafts;
pub mod pairs;
pub mod pool;
pub mod programme;
pub mod runs;
mod space;

use aws_lambda_events::event::{dynamodb, streams::DynamoDbEventResponse};
use chrono::{DateTime, NaiveDate, Utc};
use lambda_http::{Body, Error, Request, RequestExt, Response, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::{
    directory::AssociationRecord,
    http::{self, ApiError, FieldError},
    journal::{Action, Entry},
    keyring::Keyring,
    links::Links,
    outcome::{OutcomeAnswers, SituationNow},
    pages::{FormButton, Page, Question, Questionnaire},
    pair::{
        CheckInAnswer, CheckInRound, CloseReason, PairStatus, Points, ProgrammeEndQuestion,
        RiskReason,
    },
    people::Role,
    staff,
    store::{
        Key, Store, StoreError,
        keys::{DRAFT_REFERENCE_PREFIX, PAIR_REFERENCE_PREFIX, sort},
    },
    stream::{in_order, text},
    tokens::Purpose,
};

use crate::{
    algorithm::{Instance, Objective, candidates, evaluate},
    pairs::{Answered, CheckIn, CheckInRecorded, OutcomeRecorded, Proposal, Proposer, Refused},
    pool::Member,
    runs::{Run, RunSource, RunStatus, Summary},
};

/// The routes of the `matching` function, as API Gateway route keys.
pub const ROUTES: &[&str] = &[
    "POST /v1/association/matching-runs",
    "GET /v1/association/matching-runs",
    "GET /v1/association/matching-runs/{id}",
    "GET /v1/association/mentees/{id}/suggestions",
    "POST /v1/association/pairs",
    "POST /v1/association/pairs/{id}/close",
    "GET /v1/pairs/answer",
    "POST /v1/pairs/answer",
    "GET /v1/association/pairs",
    "GET /v1/association/pairs/export",
    "GET /v1/pairs/check-in",
    "POST /v1/pairs/check-in",
    "GET /v1/pairs/outcome",
    "POST /v1/pairs/outcome",
    "GET /v1/pairs/programme",
    "POST /v1/pairs/programme",
    "POST /v1/association/pairs/{id}/programme",
    "POST /v1/association/matching-runs/{id}/approve",
    "POST /v1/association/matching-runs/{id}/reject",
    "GET /association/appariement",
    "POST /association/appariement",
    "GET /association/appariement/{id}",
    "POST /association/appariement/{id}/relecture",
    "GET /association/binomes",
    "POST /association/binomes/{id}/cloture",
    "GET /association/binomes/export",
    "GET /association/suggestions/{id}",
    "POST /association/suggestions/{id}",
    "GET /association/vivier",
    "GET /v1/association/pool",
];

pub struct Matching {
    pub store: Store,
    pub keyring: Keyring,
    pub links: Links,
}

impl Matching {
    pub fn new(store: Store, keyring: Keyring, links: Links) -> Self {
        Self {
            store,
            keyring,
            links,
        }
    }
}

/// Both functions' start: configuration, the signing secret, a warm connection.
pub async fn start() -> Result<Matching, Error> {
    let start = shared::aws::start_signing(shared::aws::Secrets::Signing, |_| ()).await?;
    Ok(Matching::new(start.store, start.keyring, start.links))
}

pub async fn handle(app: &Matching, request: Request) -> Result<Response<Body>, Error> {
    let answer = match http::route_key(&request) {
        Some("POST /v1/association/matching-runs") => request_run(app, &request).await,
        Some("GET /v1/association/matching-runs") => list_runs(app, &request).await,
        Some("GET /v1/association/matching-runs/{id}") => show_run(app, &request).await,
        Some("GET /v1/association/mentees/{id}/suggestions") => suggestions(app, &request).await,
        Some("POST /v1/association/pairs") => propose(app, &request).await,
        Some("POST /v1/association/pairs/{id}/close") => close(app, &request).await,
        Some("GET /v1/pairs/answer") => Ok(answer_page(app, &request)),
        Some("POST /v1/pairs/answer") => Ok(answer(app, &request).await),
        Some("GET /v1/association/pairs") => list_pairs(app, &request).await,
        Some("GET /v1/association/pairs/export") => export_pairs(app, &request).await,
        Some("GET /v1/pairs/check-in") => Ok(check_in_page(app, &request)),
        Some("POST /v1/pairs/check-in") => Ok(check_in_answer(app, &request).await),
        Some("GET /v1/pairs/outcome") => Ok(survey_page(app, &request)),
        Some("POST /v1/pairs/outcome") => Ok(survey_answer(app, &request).await),
        Some("GET /v1/pairs/programme") => Ok(programme::page(app, &request)),
        Some("POST /v1/pairs/programme") => Ok(programme::answer(app, &request).await),
        Some("POST /v1/association/matching-runs/{id}/approve") => {
            approve_drafts(app, &request).await
        }
        Some("POST /v1/association/matching-runs/{id}/reject") => {
            reject_drafts(app, &request).await
        }
        Some("GET /association/appariement") => Ok(space::runs(app, &request).await),
        Some("POST /association/appariement") => Ok(space::start(app, &request).await),
        Some("GET /association/appariement/{id}") => Ok(space::run(app, &request).await),
        Some("POST /association/appariement/{id}/relecture") => {
            Ok(space::review(app, &request).await)
        }
        Some("GET /association/binomes") => Ok(space::pairs(app, &request).await),
        Some("POST /association/binomes/{id}/cloture") => Ok(space::close(app, &request).await),
        Some("GET /association/binomes/export") => Ok(space::export(app, &request).await),
        Some("GET /association/suggestions/{id}") => Ok(space::suggestions(app, &request).await),
        Some("POST /association/suggestions/{id}") => Ok(space::propose(app, &request).await),
        Some("GET /association/vivier") => Ok(space::pool(app, &request).await),
        Some("GET /v1/association/pool") => pool(app, &request).await,
        Some("POST /v1/association/pairs/{id}/programme") => {
            programme::set_length(app, &request, &path_id(&request)).await
        }
        _ => Err(ApiError::not_found()),
    };
    Ok(answer.unwrap_or_else(|error| error.respond()))
}

/// The `matching-events` function: a batch of the table's stream (new runs),
/// or the nightly schedule.
pub async fn handle_event(app: &Matching, event: Value) -> Result<Value, Error> {
    if event.get("Records").is_some() {
        let batch: dynamodb::Event = serde_json::from_value(event)?;
        return Ok(serde_json::to_value(deliver(app, &batch).await)?);
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let now = Utc::now();
        let requested = runs::nightly(app, now).await?;
        return Ok(json!({ "requested": requested }));
    }
    Err("unexpected event: neither a stream batch nor the nightly schedule".into())
}

/// Whether a stream record is a new run (the event source mapping filters the same way).
pub fn is_new_run(record: &dynamodb::EventRecord) -> bool {
    record.event_name == "INSERT" && text(&record.change.new_image, "sk") == Some(sort::RUN)
}

/// The (pair, person) of a deleted pair reference: the person erased their data.
pub fn erased_from_pair(record: &dynamodb::EventRecord) -> Option<(&str, &str)> {
    let image = &record.change.old_image;
    if record.event_name != "REMOVE" || !text(image, "sk")?.starts_with(PAIR_REFERENCE_PREFIX) {
        return None;
    }
    let person = Key::person_of(text(image, "pk")?)?;
    Some((text(image, "pair_id")?, person))
}

/// The (run, mentee) of a deleted draft reference: a person of the draft
/// erased their data.
pub fn erased_from_draft(record: &dynamodb::EventRecord) -> Option<(&str, &str)> {
    let image = &record.change.old_image;
    if record.event_name != "REMOVE" || !text(image, "sk")?.starts_with(DRAFT_REFERENCE_PREFIX) {
        return None;
    }
    Some((text(image, "run_id")?, text(image, "mentee_id")?))
}

/// Handles a stream batch in order — new runs are executed, erased people
/// taken out of their pairs and drafts; the first that fails is reported,
/// so Lambda retries from it.
pub async fn deliver(app: &Matching, batch: &dynamodb::Event) -> DynamoDbEventResponse {
    in_order(batch, |record| async move {
        if is_new_run(record) {
            match text(&record.change.new_image, "id") {
                Some(id) => runs::execute(app, id, Utc::now()).await,
                None => Ok::<(), StoreError>(()),
            }
        } else if let Some((pair, person)) = erased_from_pair(record) {
            pairs::forget(app, pair, person, Utc::now()).await
        } else if let Some((run, mentee)) = erased_from_draft(record) {
            drafts::forget(&app.store, run, mentee).await
        } else {
            Ok(())
        }
    })
    .await
}

fn path_id(request: &Request) -> String {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .unwrap_or_default()
        .to_owned()
}

fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Ce que l'association demande au run (le corps peut être vide).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MatchingRunBody {
    /// Ce que le run optimise : `most_pairs` (le plus de binômes, puis le meilleur score ; par
    /// défaut) ou `score_only` (le meilleur score total, quitte à former moins de binômes).
    objective: Option<Objective>,
}

/// Le run est enregistré ; il se déroule en arrière-plan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MatchingRunRequested {
    /// Identifiant du run, à suivre avec `GET /v1/association/matching-runs/{id}`.
    #[schema(example = "01935c4e8a7b7c3d9e2f4a5b6c7d8e9f")]
    id: String,
    /// `requested` : le run attend son tour.
    status: RunStatus,
    /// Message en français pour la personne qui a lancé le run.
    message: &'static str,
}

/// Un run d'appariement : son état et, une fois terminé, son bilan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MatchingRun {
    /// Identifiant du run.
    id: String,
    /// `requested` (en attente), `running` (en cours) ou `done` (terminé).
    status: RunStatus,
    /// Ce que le run optimise.
    objective: Objective,
    /// Qui l'a lancé : l'association (`request`) ou le passage de chaque nuit (`schedule`).
    source: RunSource,
    /// Date et heure de la demande (UTC).
    #[schema(format = DateTime)]
    requested_at: String,
    /// Date et heure de la fin du run ; `null` tant qu'il n'est pas terminé.
    #[schema(format = DateTime, required = true)]
    finished_at: Option<String>,
    /// Le bilan du run ; `null` tant qu'il n'est pas terminé.
    #[schema(required = true)]
    summary: Option<Summary>,
    /// Ce que le run optimise, en mots.
    objective_text: &'static str,
    /// Les binômes trouvés, en brouillon ou déjà relus (vide quand l'association publie ses
    /// runs sans relecture : voir `summary.pair_ids`).
    drafts: Vec<drafts::Draft>,
}

/// Asks for a run of the association's pool; the id of the run still
/// going or in review instead, if there is one.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn start_run(
    app: &Matching,
    association: &AssociationRecord,
    objective: Objective,
) -> Result<Result<Run, String>, StoreError> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let run = Run::new(
        id,
        &association.slug,
        objective,
        RunSource::Request,
        Utc::now(),
    );
    match runs::request(&app.store, &run).await? {
        runs::Requested::Busy(other) => return Ok(Err(other)),
        runs::Requested::Started | runs::Requested::Exists => {}
    }
    tracing::info!(
        run = run.id,
        association = association.slug,
        "matching run requested"
    );
    Ok(Ok(run))
}

/// The JSON body if there is one (a run may be asked for with none).
fn optional_json<T: for<'de> Deserialize<'de> + Default>(request: &Request) -> Result<T, ApiError> {
    if request.body().as_ref().is_empty() {
        Ok(T::default())
    } else {
        http::parse_json(request)
    }
}

#[utoipa::path(
    post,
    path = "/v1/association/matching-runs",
    tag = "binomes",
    operation_id = "matching_request_run",
    summary = "Lancer un appariement",
    description = "Cherche le meilleur ensemble de binômes pour tout le vivier de l'association (les jeunes qui attendent un mentor, les mentors qui ont encore une place), en respectant ses critères obligatoires, puis garde chaque binôme trouvé en brouillon jusqu'à ce qu'un membre de l'équipe l'approuve (`POST …/approve`) ou le rejette (`POST …/reject`) ; une association qui publie ses runs sans relecture (`auto_publish`) voit ses binômes proposés aussitôt. Une fois proposé, chaque personne reçoit un e-mail pour accepter ou décliner. La réponse arrive aussitôt avec l'identifiant du run ; le run se déroule en arrière-plan et son bilan se lit avec `GET /v1/association/matching-runs/{id}`. Le corps est facultatif.",
    security(("association" = [])),
    request_body(
        content = Option<MatchingRunBody>,
        content_type = "application/json",
        description = "Facultatif : ce que le run optimise (`most_pairs` si absent)."
    ),
    responses(
        (status = 202, description = "Run enregistré ; il se déroule en arrière-plan.", body = MatchingRunRequested),
        (status = 409, description = "Un run précédent a encore des binômes en brouillon à relire (`run_in_review`).", body = shared::http::ApiError),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`, ou corps qui n'est pas un objet), champ inconnu (`unknown_field`), champ du mauvais type (`invalid_type`), par exemple un objectif inconnu.", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/matching-runs` `{"objective"?: "most_pairs" | "score_only"}`
async fn request_run(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let form: MatchingRunBody = optional_json(request)?;
    let run = match start_run(app, &association, form.objective.unwrap_or_default()).await? {
        Ok(run) => run,
        Err(in_review) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "run_in_review",
                format!(
                    "Le run {in_review} a encore des binômes à relire : approuvez-les ou rejetez-les avant d'en lancer un autre."
                ),
            ));
        }
    };
    Ok(http::json(
        StatusCode::ACCEPTED,
        &MatchingRunRequested {
            id: run.id,
            status: run.status,
            message: "Appariement lancé : consultez son avancement à l'adresse de ce run.",
        },
    ))
}

#[utoipa::path(
    get,
    path = "/v1/association/matching-runs/{id}",
    tag = "binomes",
    operation_id = "matching_show_run",
    summary = "Suivre un run d'appariement",
    description = "L'état d'un run de l'association et, une fois terminé (`done`), son bilan : taille du vivier, binômes proposés, jeunes restés sans proposition.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du run.", max_length = 80, pattern = "^[A-Za-z0-9-]+$"),
    ),
    responses(
        (status = 200, description = "Le run.", body = MatchingRun),
        (status = 404, description = "Run inconnu ou d'une autre association (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/matching-runs/{id}`
async fn show_run(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let id = path_id(request);
    if !plausible_id(&id) {
        return Err(ApiError::not_found());
    }
    match runs::read(&app.store, &id).await? {
        Some(run) if run.association == association.slug => {
            let drafts = drafts::of_run(&app.store, &run.id).await?;
            Ok(http::json(
                StatusCode::OK,
                &MatchingRun {
                    id: run.id,
                    status: run.status,
                    objective: run.objective,
                    source: run.source,
                    requested_at: run.requested_at,
                    finished_at: run.finished_at,
                    summary: run.summary,
                    objective_text: run.objective.in_words(),
                    drafts,
                },
            ))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Un run de la liste de l'association.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MatchingRunListed {
    /// Identifiant du run, à lire avec `GET /v1/association/matching-runs/{id}`.
    id: String,
    /// `requested` (en attente), `running` (en cours) ou `done` (terminé).
    status: RunStatus,
    /// Ce que le run optimise.
    objective: Objective,
    /// Qui l'a lancé : l'association (`request`) ou le passage de chaque nuit (`schedule`).
    source: RunSource,
    /// Date et heure de la demande (UTC).
    #[schema(format = DateTime)]
    requested_at: String,
    /// Date et heure de la fin du run ; `null` tant qu'il n'est pas terminé.
    #[schema(format = DateTime, required = true)]
    finished_at: Option<String>,
    /// Le bilan du run (vivier, binômes, brouillons, jeunes sans binôme) ; `null` tant qu'il
    /// n'est pas terminé.
    #[schema(required = true)]
    summary: Option<Summary>,
    /// `true` : le run est en cours, ou ses brouillons attendent la relecture ; aucun autre run
    /// ne peut être lancé d'ici là.
    in_review: bool,
    /// Binômes en brouillon qui attendent encore d'être approuvés ou rejetés.
    pending_drafts: usize,
}

/// Les derniers runs de l'association.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MatchingRuns {
    /// Les derniers runs (au plus 10), du plus récent au plus ancien.
    runs: Vec<MatchingRunListed>,
}

#[utoipa::path(
    get,
    path = "/v1/association/matching-runs",
    tag = "binomes",
    operation_id = "matching_list_runs",
    summary = "Les derniers runs d'appariement",
    description = "Les derniers runs de l'association, du plus récent au plus ancien, comme la page de l'appariement les montre : leur état, leur bilan une fois terminés, et celui dont les binômes en brouillon attendent la relecture.",
    security(("association" = [])),
    responses((status = 200, description = "Les runs.", body = MatchingRuns))
)]
/// `GET /v1/association/matching-runs`: the runs as the page lists them.
#[tracing::instrument(skip_all)]
async fn list_runs(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let space::LatestRuns { in_review, listed } =
        space::latest_runs(app, &association.slug).await?;
    let runs = listed
        .into_iter()
        .map(|(run, pending_drafts)| MatchingRunListed {
            in_review: in_review.as_deref() == Some(run.id.as_str()),
            pending_drafts,
            id: run.id,
            status: run.status,
            objective: run.objective,
            source: run.source,
            requested_at: run.requested_at,
            finished_at: run.finished_at,
            summary: run.summary,
        })
        .collect();
    Ok(http::json(StatusCode::OK, &MatchingRuns { runs }))
}

/// Which way a review goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Review {
    Approve,
    Reject,
}

/// Les binômes en brouillon relus : tous, ou ceux des jeunes nommés.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    /// `true` : tous les brouillons encore à relire (approbation seulement).
    #[serde(default)]
    all: bool,
    /// Les jeunes dont le binôme en brouillon est relu (au plus 1000).
    #[serde(default)]
    #[schema(max_items = 1000, value_type = Vec<String>)]
    mentee_ids: Vec<String>,
    /// Pour un rejet : pourquoi (3 à 500 caractères), gardé avec le brouillon.
    #[serde(default)]
    #[schema(min_length = 3, max_length = 500)]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/association/matching-runs/{id}/approve",
    tag = "binomes",
    operation_id = "matching_approve_drafts",
    summary = "Approuver des binômes en brouillon",
    description = "Approuve les binômes en brouillon d'un run, tous (`all`) ou ceux des jeunes nommés (`mentee_ids`) : chacun est proposé, et les deux personnes reçoivent un e-mail pour accepter ou décliner. Un brouillon dont l'une des personnes n'est plus disponible (mentor complet, jeune déjà en binôme, données effacées) est compté dans `skipped`. Approuver à nouveau ne propose rien deux fois.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du run.", max_length = 80, pattern = "^[A-Za-z0-9-]+$"),
    ),
    request_body(content = ReviewBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Ce que l'approbation a fait.", body = drafts::Reviewed),
        (status = 400, description = "Ni `all` ni `mentee_ids`, plus de 1000 jeunes (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Run inconnu ou d'une autre association (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/matching-runs/{id}/approve {"all" | "mentee_ids"}`
async fn approve_drafts(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    review(app, request, Review::Approve).await
}

#[utoipa::path(
    post,
    path = "/v1/association/matching-runs/{id}/reject",
    tag = "binomes",
    operation_id = "matching_reject_drafts",
    summary = "Rejeter des binômes en brouillon",
    description = "Rejette les binômes en brouillon des jeunes nommés (`mentee_ids`), avec un motif : personne n'est prévenu, et ces deux personnes ne seront plus jamais proposées l'une à l'autre. Le ou la jeune reste dans le vivier pour un autre mentor.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du run.", max_length = 80, pattern = "^[A-Za-z0-9-]+$"),
    ),
    request_body(content = ReviewBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Ce que le rejet a fait.", body = drafts::Reviewed),
        (status = 400, description = "`mentee_ids` vide ou de plus de 1000, motif manquant ou de longueur invalide (`invalid_fields`), corps illisible (`malformed_json`, `unknown_field`, `invalid_type`).", body = shared::http::ApiError),
        (status = 404, description = "Run inconnu ou d'une autre association (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/matching-runs/{id}/reject {"mentee_ids", "reason"}`
async fn reject_drafts(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    review(app, request, Review::Reject).await
}

/// The reason given for rejecting, if it is one: 3 to 500 characters.
pub(crate) fn rejection_reason(reason: Option<&str>) -> Result<String, ApiError> {
    http::short_reason(
        reason,
        "Indiquez en quelques mots pourquoi ce binôme ne convient pas (3 à 500 caractères).",
    )
}

/// A review of a run's drafts, from the JSON routes.
async fn review(
    app: &Matching,
    request: &Request,
    way: Review,
) -> Result<Response<Body>, ApiError> {
    let now = Utc::now();
    let (association, actor) = staff::authorise(&app.store, request, now).await?;
    let id = path_id(request);
    let body: ReviewBody = http::parse_json(request)?;
    let chosen = chosen_drafts(way, body.all, &body.mentee_ids)?;
    let reason = match way {
        Review::Reject => Some(rejection_reason(body.reason.as_deref())?),
        Review::Approve => None,
    };
    let run = own_run(app, &association, &id).await?;
    let reviewed = match reason {
        Some(reason) => {
            drafts::reject(
                app,
                &association,
                &run.id,
                chosen.unwrap_or_default(),
                &reason,
                &actor,
                now,
            )
            .await?
        }
        None => drafts::approve(app, &association, &run.id, chosen, &actor, now).await?,
    };
    Ok(http::json(StatusCode::OK, &reviewed))
}

/// The drafts a review names: `None` for all (approval only).
pub(crate) fn chosen_drafts(
    way: Review,
    all: bool,
    mentee_ids: &[String],
) -> Result<Option<&[String]>, ApiError> {
    let named = !mentee_ids.is_empty() && mentee_ids.len() <= 1000;
    match (way, all, named) {
        (Review::Approve, true, _) => Ok(None),
        (_, false, true) => Ok(Some(mentee_ids)),
        _ => Err(ApiError::invalid_fields(vec![FieldError {
            field: "mentee_ids".into(),
            message: match way {
                Review::Approve => "Indiquez \"all\": true, ou les identifiants des jeunes dont le binôme est approuvé (1 à 1000).",
                Review::Reject => "Indiquez les identifiants des jeunes dont le binôme est rejeté (1 à 1000).",
            }
            .into(),
        }])),
    }
}

/// The association's run of this id, or 404.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn own_run(
    app: &Matching,
    association: &AssociationRecord,
    id: &str,
) -> Result<Run, ApiError> {
    if !plausible_id(id) {
        return Err(ApiError::not_found());
    }
    match runs::read(&app.store, id).await? {
        Some(run) if run.association == association.slug => Ok(run),
        _ => Err(ApiError::not_found()),
    }
}

/// A person the association holds and may pair now, or 404.
async fn held_member(
    app: &Matching,
    association: &AssociationRecord,
    id: &str,
    role: Role,
) -> Result<Member, ApiError> {
    if !plausible_id(id) {
        return Err(ApiError::not_found());
    }
    let found = pairs::profiles(&app.store, &[id]).await?;
    match found.get(id) {
        Some(member)
            if member.role == role
                && member
                    .routing
                    .as_ref()
                    .and_then(|r| r.association.as_deref())
                    == Some(association.slug.as_str()) =>
        {
            Ok(member.clone())
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Les meilleurs mentors pour un jeune.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MentorSuggestions {
    /// Identifiant du jeune.
    mentee_id: String,
    /// Les mentors proposés, du meilleur score au moins bon (au plus `limit`).
    pub(crate) suggestions: Vec<MentorSuggestion>,
    /// Quand la liste est plus courte que `limit` : pourquoi les autres mentors de
    /// l'association n'y sont pas, par motif (vide sinon).
    pub(crate) held_back: Vec<HeldBack>,
}

/// Des mentors de l'association écartés pour ce jeune, et pourquoi.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HeldBack {
    /// `full` (plus de place), `honorability` (jeune de moins de 18 ans, honorabilité du mentor
    /// pas encore vérifiée), `criteria` (un critère obligatoire n'est pas rempli), `tried` (déjà
    /// proposés l'un à l'autre).
    #[schema(example = "honorability")]
    reason: &'static str,
    /// Combien de mentors.
    mentors: usize,
    /// Le motif en une phrase.
    pub(crate) text: String,
}

/// Why the pool's other mentors are not suggested for `mentee` (index 0 of `instance`).
fn held_back(
    pool: &pool::Pool,
    mentee: &Member,
    instance: &Instance,
    slug: &str,
    today: NaiveDate,
) -> Vec<HeldBack> {
    let (mut honorability, mut criteria, mut tried) = (0, 0, 0);
    for (index, mentor) in pool.mentors.iter().enumerate() {
        if pool.tried.contains(&(mentee.id.clone(), mentor.id.clone())) {
            tried += 1;
        } else if mentee.is_minor(today) && !mentor.cleared_by(slug) {
            honorability += 1;
        } else if evaluate(
            &instance.mentees[0],
            &instance.mentors[index],
            &instance.criteria,
        )
        .is_none()
        {
            criteria += 1;
        }
    }
    [
        (
            "full",
            pool.full_mentors,
            "1 mentor n'a plus de place : il ou elle accompagne déjà autant de jeunes que sa capacité.",
            "mentors n'ont plus de place : ils et elles accompagnent déjà autant de jeunes que leur capacité.",
        ),
        (
            "honorability",
            honorability,
            "1 mentor ne peut pas être proposé à un ou une jeune de moins de 18 ans : votre association n'a pas encore enregistré la vérification de son honorabilité.",
            "mentors ne peuvent pas être proposés à un ou une jeune de moins de 18 ans : votre association n'a pas encore enregistré la vérification de leur honorabilité.",
        ),
        (
            "criteria",
            criteria,
            "1 mentor ne remplit pas l'un de vos critères obligatoires (public, mode de rencontre, langue ou besoins).",
            "mentors ne remplissent pas l'un de vos critères obligatoires (public, mode de rencontre, langue ou besoins).",
        ),
        (
            "tried",
            tried,
            "1 mentor a déjà été proposé à ce ou cette jeune.",
            "mentors ont déjà été proposés à ce ou cette jeune.",
        ),
    ]
    .into_iter()
    .filter(|(_, count, _, _)| *count > 0)
    .map(|(reason, mentors, one, many)| HeldBack {
        reason,
        mentors,
        text: if mentors == 1 {
            one.to_owned()
        } else {
            format!("{mentors} {many}")
        },
    })
    .collect()
}

/// Un mentor proposé pour un jeune, et pourquoi.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MentorSuggestion {
    /// Identifiant du mentor.
    pub(crate) mentor_id: String,
    /// Prénom du mentor.
    pub(crate) first_name: String,
    /// Qui est le mentor, en quelques mots (métier et secteur).
    pub(crate) about: String,
    /// Score total du binôme (la somme des points).
    pub(crate) score: u32,
    /// Les points du binôme, critère par critère.
    points: Points,
    /// Pourquoi ce mentor, en phrases courtes.
    pub(crate) reasons: Vec<String>,
    /// Places encore libres chez ce mentor.
    pub(crate) places_left: u8,
}

#[utoipa::path(
    get,
    path = "/v1/association/mentees/{id}/suggestions",
    tag = "binomes",
    operation_id = "matching_mentee_suggestions",
    summary = "Les meilleurs mentors pour un jeune",
    description = "Les mentors de l'association qui ont encore une place et respectent ses critères obligatoires pour ce jeune, du meilleur score au moins bon, avec les points de chaque critère et les raisons en clair. Rien n'est proposé : pour proposer un binôme, `POST /v1/association/pairs`.",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du jeune.", max_length = 80, pattern = "^[A-Za-z0-9-]+$"),
        ("limit" = Option<u32>, Query, description = "Nombre de mentors au plus (5 par défaut).", minimum = 1, maximum = 20, example = 5),
    ),
    responses(
        (status = 200, description = "Les mentors proposés (la liste peut être vide).", body = MentorSuggestions),
        (status = 400, description = "`limit` n'est pas un entier de 1 à 20 (`invalid_limit`).", body = shared::http::ApiError),
        (status = 404, description = "Jeune inconnu, qui n'est pas un jeune, ou qui n'est pas confié à cette association (`not_found`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/mentees/{id}/suggestions?limit=5`
async fn suggestions(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let mentee = held_member(app, &association, &path_id(request), Role::Mentee).await?;
    let limit = match http::query_parameter(request, "limit") {
        None => 5,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_limit",
                    "Le paramètre limit va de 1 à 20.",
                )
            })?,
    };
    let suggested = suggest(app, &association, mentee, limit).await?;
    Ok(http::json(StatusCode::OK, &suggested))
}

/// The `limit` best mentors of the association's pool for `mentee`, and
/// why the others are held back when they are fewer.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn suggest(
    app: &Matching,
    association: &AssociationRecord,
    mentee: Member,
    limit: usize,
) -> Result<MentorSuggestions, StoreError> {
    let now = Utc::now();
    let pool = pool::Pool::load(
        &app.store,
        &association.slug,
        association.matching,
        Objective::MostPairs,
        now,
    )
    .await?;
    let instance: Instance = pool::instance(
        &association.slug,
        std::slice::from_ref(&mentee),
        &pool.mentors,
        association.matching,
        Objective::MostPairs,
        &pool.tried,
        now,
    );
    let best = candidates::best_for(&instance, 0, limit);
    let suggestions: Vec<MentorSuggestion> = best
        .iter()
        .filter_map(|candidate| {
            let mentor = &pool.mentors[candidate.mentor as usize];
            let points = evaluate(
                &instance.mentees[0],
                &instance.mentors[candidate.mentor as usize],
                &instance.criteria,
            )?;
            Some(MentorSuggestion {
                mentor_id: mentor.id.clone(),
                first_name: mentor.first_name.clone(),
                about: mentor.about(now.date_naive()),
                score: points.total(),
                points,
                reasons: pool::reasons(&mentee, mentor, &points),
                places_left: mentor.room(),
            })
        })
        .collect();
    let held_back = if suggestions.len() < limit {
        held_back(
            &pool,
            &mentee,
            &instance,
            &association.slug,
            now.date_naive(),
        )
    } else {
        Vec::new()
    };
    Ok(MentorSuggestions {
        mentee_id: mentee.id,
        suggestions,
        held_back,
    })
}

/// Une proposition manuelle : un jeune et un mentor de l'association.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PairProposalBody {
    /// Identifiant d'un jeune de l'association qui attend un mentor.
    #[schema(
        required = true,
        nullable = false,
        max_length = 80,
        pattern = "^[A-Za-z0-9-]+$"
    )]
    mentee_id: Option<String>,
    /// Identifiant d'un mentor de l'association qui a encore une place.
    #[schema(
        required = true,
        nullable = false,
        max_length = 80,
        pattern = "^[A-Za-z0-9-]+$"
    )]
    mentor_id: Option<String>,
}

/// Le binôme proposé : chacun reçoit un e-mail pour accepter ou décliner.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PairProposed {
    /// Identifiant du binôme.
    id: String,
    /// `proposed` : le binôme attend la réponse des deux personnes.
    status: PairStatus,
    /// Score total du binôme (la somme des points).
    score: u32,
    /// Les points du binôme, critère par critère.
    points: Points,
    /// Pourquoi ce binôme, en phrases courtes.
    reasons: Vec<String>,
    /// Message en français pour l'association.
    message: &'static str,
}

fn conflict(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

#[utoipa::path(
    post,
    path = "/v1/association/pairs",
    tag = "binomes",
    operation_id = "matching_propose_pair",
    summary = "Proposer un binôme",
    description = "Propose à la main un binôme entre un jeune et un mentor de l'association : chacun reçoit un e-mail avec un lien pour accepter ou décliner (valable 14 jours). Le binôme commence quand les deux ont accepté ; leurs coordonnées ne sont échangées qu'à ce moment.",
    security(("association" = [])),
    request_body(content = PairProposalBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Binôme proposé.", body = PairProposed),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`, ou corps qui n'est pas un objet), champ inconnu (`unknown_field`), champ du mauvais type (`invalid_type`), ou `mentee_id` / `mentor_id` manquant (`invalid_fields`, sur `mentee_id`).", body = shared::http::ApiError),
        (status = 404, description = "Jeune ou mentor inconnu, du mauvais rôle, ou qui n'est pas confié à cette association (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Proposition impossible : ces deux personnes ont déjà été proposées l'une à l'autre (`pair_already_tried`), le mentor n'a plus de place (`mentor_full`), le jeune n'attend plus de mentor (`mentee_unavailable`).", body = shared::http::ApiError),
        (status = 422, description = "Le binôme ne respecte pas un critère obligatoire de l'association : public, mode de rencontre, langue ou besoins (`criteria_not_met`) ; ou le jeune a moins de 18 ans et l'association n'a pas enregistré la vérification d'honorabilité du mentor (`honorability_unchecked`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/pairs {"mentee_id", "mentor_id"}`: a manual proposal.
async fn propose(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, actor) = staff::authorise(&app.store, request, Utc::now()).await?;
    let form: PairProposalBody = http::parse_json(request)?;
    let (Some(mentee_id), Some(mentor_id)) = (form.mentee_id, form.mentor_id) else {
        return Err(ApiError::invalid_fields(vec![FieldError {
            field: "mentee_id".into(),
            message: "Indiquez mentee_id et mentor_id, les identifiants d'un jeune et d'un mentor de votre association.".into(),
        }]));
    };
    let pair = propose_pair(app, &association, &mentee_id, &mentor_id, actor).await?;
    Ok(http::json(
        StatusCode::CREATED,
        &PairProposed {
            id: pair.id,
            status: pair.status,
            score: pair.score,
            points: pair.points,
            reasons: pair.reasons,
            message: "Binôme proposé : chacun reçoit un e-mail pour accepter ou décliner.",
        },
    ))
}

/// The association proposes `mentee_id` to `mentor_id` by hand (both are
/// mailed), with its journal entry in the same transaction.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn propose_pair(
    app: &Matching,
    association: &AssociationRecord,
    mentee_id: &str,
    mentor_id: &str,
    actor: shared::journal::Actor,
) -> Result<shared::pair::Pair, ApiError> {
    let mentee = held_member(app, association, mentee_id, Role::Mentee).await?;
    let mentor = held_member(app, association, mentor_id, Role::Mentor).await?;
    let now = Utc::now();
    if mentee.is_minor(now.date_naive()) && !mentor.cleared_by(&association.slug) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "honorability_unchecked",
            "Ce mentor ne peut pas être proposé à un ou une jeune de moins de 18 ans tant que votre association n'a pas enregistré la vérification de son honorabilité (sur la page du mentor).",
        ));
    }
    let instance = pool::instance(
        &association.slug,
        std::slice::from_ref(&mentee),
        std::slice::from_ref(&mentor),
        association.matching,
        Objective::MostPairs,
        &Default::default(),
        now,
    );
    let Some(points) = evaluate(
        &instance.mentees[0],
        &instance.mentors[0],
        &instance.criteria,
    ) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "criteria_not_met",
            "Ce binôme ne respecte pas un critère obligatoire de votre association (public, mode de rencontre, langue ou besoins) : choisissez un autre mentor, ou changez vos critères.",
        ));
    };
    let reasons = pool::reasons(&mentee, &mentor, &points);
    let proposer = Proposer {
        slug: &association.slug,
        name: &association.name,
        programme_months: association.programme_months,
    };
    let proposal = Proposal {
        mentee: &mentee,
        mentor: &mentor,
        points,
        reasons,
        run_id: None,
        also: vec![
            Entry::new(
                actor,
                Action::PairProposed,
                &pairs::pair_id(&mentee.id, &mentor.id),
                now,
            )
            .transact_put(&app.store.table, &association.slug)?,
        ],
    };
    match pairs::propose(app, &proposer, proposal, now).await {
        Ok(pair) => Ok(pair),
        Err(Refused::AlreadyTried) => Err(conflict(
            "pair_already_tried",
            "Ces deux personnes ont déjà été proposées l'une à l'autre, ou ce binôme a été rejeté à la relecture.",
        )),
        Err(Refused::MentorFull) => Err(conflict(
            "mentor_full",
            "Ce mentor accompagne déjà autant de jeunes que sa capacité : choisissez un autre mentor.",
        )),
        Err(Refused::MenteeUnavailable) => Err(conflict(
            "mentee_unavailable",
            "Ce ou cette jeune n'attend plus de mentor (un binôme lui est déjà proposé ou formé).",
        )),
        // A manual proposal carries no other write that could refuse it.
        Err(Refused::Decided) => Err(ApiError::unavailable()),
        Err(Refused::Store(error)) => Err(error.into()),
    }
}

/// Pourquoi l'association clôt le binôme.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PairCloseBody {
    /// Pourquoi le binôme s'arrête : `completed` (mentorat mené à son terme), `no_contact`
    /// (le contact ne s'est pas fait : le jeune retourne dans le vivier), `moved`
    /// (déménagement) ou `other`.
    #[schema(required = true, nullable = false, value_type = Option<contract::PairCloseReason>)]
    reason: Option<String>,
}

/// Le binôme une fois clos.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PairClosed {
    /// Identifiant du binôme.
    id: String,
    /// `closed` ; `declined` si la proposition avait été déclinée avant.
    status: PairStatus,
    /// Pourquoi le binôme s'est arrêté ; `null` pour une proposition déclinée.
    #[schema(required = true)]
    close_reason: Option<CloseReason>,
    /// Durée du binôme en jours, depuis son début (ou sa proposition s'il n'a pas commencé) ;
    /// `null` pour une proposition déclinée.
    #[schema(required = true)]
    duration_days: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/association/pairs/{id}/close",
    tag = "binomes",
    operation_id = "matching_close_pair",
    summary = "Clore un binôme",
    description = "Met fin à un binôme proposé ou en cours : la place du mentor est libérée ; avec `no_contact`, le jeune retourne dans le vivier pour un nouveau binôme. Un binôme déjà clos ou décliné est renvoyé tel quel (une nouvelle tentative ne change rien).",
    security(("association" = [])),
    params(
        ("id" = String, Path, description = "Identifiant du binôme.", max_length = 80, pattern = "^[A-Za-z0-9-]+$"),
    ),
    request_body(content = PairCloseBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Binôme clos (ou déjà terminé).", body = PairClosed),
        (status = 400, description = "Corps invalide : JSON mal formé (`malformed_json`, ou corps qui n'est pas un objet), champ inconnu (`unknown_field`), champ du mauvais type (`invalid_type`), ou raison manquante ou inconnue (`invalid_fields`, sur `reason`).", body = shared::http::ApiError),
        (status = 404, description = "Binôme inconnu ou d'une autre association (`not_found`).", body = shared::http::ApiError),
        (status = 409, description = "Le binôme a changé entre-temps : rechargez-le avant de le clore (`pair_changed`).", body = shared::http::ApiError),
    )
)]
/// `POST /v1/association/pairs/{id}/close {"reason"}`
async fn close(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, actor) = staff::authorise(&app.store, request, Utc::now()).await?;
    let id = path_id(request);
    if !plausible_id(&id) {
        return Err(ApiError::not_found());
    }
    let form: PairCloseBody = http::parse_json(request)?;
    let closed = close_pair(app, &association, &id, form.reason.as_deref(), actor).await?;
    Ok(http::json(
        StatusCode::OK,
        &PairClosed {
            id: closed.id,
            status: closed.status,
            close_reason: closed.close_reason,
            duration_days: closed.duration_days,
        },
    ))
}

/// The association closes its pair `id` for `reason` (as sent); a pair
/// already over is answered as it is.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn close_pair(
    app: &Matching,
    association: &AssociationRecord,
    id: &str,
    reason: Option<&str>,
    actor: shared::journal::Actor,
) -> Result<shared::pair::Pair, ApiError> {
    let reason = reason
        .and_then(shared::people::parse_term::<CloseReason>)
        // Erasure and expiry close pairs by themselves, never by a person.
        .filter(|reason| !matches!(reason, CloseReason::Erased | CloseReason::Expired))
        .ok_or_else(|| {
            ApiError::invalid_fields(vec![FieldError {
                field: "reason".into(),
                message: "Indiquez completed, no_contact, moved ou other.".into(),
            }])
        })?;
    if !plausible_id(id) {
        return Err(ApiError::not_found());
    }
    let pair = match pairs::read(&app.store, id).await? {
        Some(pair) if pair.association == association.slug => pair,
        _ => return Err(ApiError::not_found()),
    };
    match pair.status {
        PairStatus::Closed | PairStatus::Declined => Ok(pair),
        PairStatus::Proposed | PairStatus::Active => {
            let now = Utc::now();
            let entry = Entry::new(actor, Action::PairClosed, &pair.id, now)
                .with_detail(close_reason_label(reason))
                .transact_put(&app.store.table, &association.slug)?;
            pairs::close(app, &pair, reason, &association.name, Some(entry), now)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, pair = id, "pair close failed");
                    conflict(
                        "pair_changed",
                        "Le binôme a changé entre-temps : rechargez-le avant de le clore.",
                    )
                })
        }
    }
}

/// A close reason in the journal's words.
fn close_reason_label(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Completed => "mentorat terminé",
        CloseReason::NoContact => "pas de contact",
        CloseReason::Moved => "déménagement",
        CloseReason::Other => "autre raison",
        CloseReason::Erased => "données effacées",
        CloseReason::Expired => "sans réponse",
    }
}

/// The pair and side a valid answer link names.
fn answer_token(app: &Matching, request: &Request) -> Option<(String, String, Role)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::PairAnswer, Utc::now())
        .ok()?;
    let (pair, side) = verified.subject.split_once(':')?;
    let side = match side {
        "mentee" => Role::Mentee,
        "mentor" => Role::Mentor,
        _ => return None,
    };
    Some((token, pair.to_owned(), side))
}

/// A link refused: expired (410, `expired` says how long such links hold)
/// or not valid (400).
pub(crate) fn link_refused(
    app: &Matching,
    request: &Request,
    purpose: Purpose,
    expired: &str,
) -> Response<Body> {
    let token = http::query_parameter(request, "token");
    let status = app
        .keyring
        .tokens
        .refusal(token.as_deref(), purpose, Utc::now());
    let (title, why) = if status == StatusCode::GONE {
        ("Lien expiré", expired)
    } else {
        (
            "Lien invalide",
            "Ce lien n'est pas valide : ouvrez-le depuis l'e-mail reçu, en entier (un lien copié peut être coupé).",
        )
    };
    Page::new(title, &[why]).respond(status)
}

const ANSWER_EXPIRED: &str = "Ce lien de réponse n'est plus valable (il l'est 14 jours). L'association vous recontactera, ou écrivez-lui directement.";

#[utoipa::path(
    get,
    path = "/v1/pairs/answer",
    tag = "reponses",
    operation_id = "matching_answer_page",
    summary = "Page de réponse à une proposition de binôme",
    description = "Le lien reçu par e-mail par le jeune ou le mentor ouvre une page à deux boutons (accepter, décliner) ; ouvrir le lien n'enregistre rien. Le lien est valable 14 jours.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (proposition de binôme, pour un des deux côtés)."),
    ),
    responses(
        (status = 200, description = "La page et ses deux boutons.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet : jeton absent, abîmé ou fait pour un autre usage ; page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/pairs/answer?token=`: two buttons; opening the link acts on nothing.
fn answer_page(app: &Matching, request: &Request) -> Response<Body> {
    let Some((token, _, _)) = answer_token(app, request) else {
        return link_refused(app, request, Purpose::PairAnswer, ANSWER_EXPIRED);
    };
    let action = |answer: &str| {
        app.links
            .api(&format!("/v1/pairs/answer?token={token}&answer={answer}"))
    };
    Page::new(
        "Votre réponse à la proposition de binôme",
        &["Acceptez si la proposition vous convient : vos coordonnées ne seront échangées qu'une fois que vous aurez accepté tous les deux."],
    )
    .with_form(FormButton {
        action: action("accept"),
        label: "J'accepte ce binôme".into(),
        hidden: Vec::new(),
        secondary: false,
    })
    .with_form(FormButton {
        action: action("decline"),
        label: "Je décline".into(),
        hidden: Vec::new(),
        secondary: true,
    })
    .respond(StatusCode::OK)
}

/// A person's answer to a proposal, as the page's buttons send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "La réponse à une proposition de binôme : `accept` ou `decline`.")]
enum ProposalAnswer {
    Accept,
    Decline,
}

#[utoipa::path(
    post,
    path = "/v1/pairs/answer",
    tag = "reponses",
    operation_id = "matching_answer",
    summary = "Accepter ou décliner une proposition de binôme",
    description = "Le bouton de la page de réponse. Accepter attend l'autre personne ; quand les deux ont accepté, le binôme commence et chacun reçoit les coordonnées de l'autre par e-mail. Décliner renvoie le jeune dans le vivier de l'association. Répondre deux fois ne change rien ; une proposition déjà close le dit. Pas de corps.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (proposition de binôme, pour un des deux côtés)."),
        ("answer" = ProposalAnswer, Query, description = "`accept` ou `decline` (la page l'ajoute à chaque bouton)."),
    ),
    responses(
        (status = 200, description = "Réponse enregistrée (ou déjà donnée, ou proposition close entre-temps) : page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet (jeton absent, abîmé ou fait pour un autre usage), ou `answer` manquant ou autre que `accept` / `decline` : page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `POST /v1/pairs/answer?token=&answer=accept|decline`
async fn answer(app: &Matching, request: &Request) -> Response<Body> {
    let Some((_, pair_id, side)) = answer_token(app, request) else {
        return link_refused(app, request, Purpose::PairAnswer, ANSWER_EXPIRED);
    };
    let now = Utc::now();
    let chosen = http::query_parameter(request, "answer")
        .as_deref()
        .and_then(shared::people::parse_term::<ProposalAnswer>);
    let outcome = match chosen {
        Some(ProposalAnswer::Accept) => pairs::accept(app, &pair_id, side, now).await,
        Some(ProposalAnswer::Decline) => pairs::decline(app, &pair_id, side, now).await,
        None => {
            return Page::new(
                "Réponse manquante",
                &["Choisissez « J'accepte » ou « Je décline » sur la page de la proposition."],
            )
            .respond(StatusCode::BAD_REQUEST);
        }
    };
    let page = match outcome {
        Ok(Answered::Waiting) => Page::new(
            "Merci, c'est noté !",
            &[
                "Vous avez accepté. Dès que l'autre personne aura accepté aussi, vous recevrez ses coordonnées par e-mail.",
            ],
        ),
        Ok(Answered::Started) => Page::new(
            "Votre binôme est formé !",
            &[
                "Vous avez accepté tous les deux : les coordonnées de chacun vous sont envoyées par e-mail.",
            ],
        ),
        Ok(Answered::Declined) => Page::new(
            "C'est noté",
            &["Vous avez décliné cette proposition. L'association vous en proposera une autre."],
        ),
        Ok(Answered::Closed(_)) => Page::new(
            "Cette proposition est close",
            &["Elle a été déclinée ou close entre-temps. L'association vous recontactera."],
        ),
        Err(error) => {
            tracing::error!(%error, "pair answer failed");
            return Page::unavailable("Votre réponse n'a pas été enregistrée.");
        }
    };
    page.respond(StatusCode::OK)
}

/// Les binômes de l'association.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PairList {
    /// Les binômes de l'association, filtrés par `status` et `at_risk`.
    pairs: Vec<PairOverview>,
}

/// Un binôme et son suivi.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PairOverview {
    /// Identifiant du binôme.
    id: String,
    /// Où en est le binôme : `proposed`, `active`, `declined` ou `closed`.
    status: PairStatus,
    /// Identifiant du jeune (`erased` si ses données ont été effacées).
    mentee_id: String,
    /// Identifiant du mentor (`erased` si ses données ont été effacées).
    mentor_id: String,
    /// Date et heure de la proposition (UTC).
    #[schema(format = DateTime)]
    proposed_at: String,
    /// Date et heure où les deux ont accepté ; `null` tant que le binôme n'a pas commencé.
    #[schema(format = DateTime, required = true)]
    started_at: Option<String>,
    /// Les points d'étape mensuels envoyés, et les réponses de chacun.
    check_ins: Vec<CheckInRound>,
    /// Pourquoi le binôme demande l'attention de l'association ; `null` sinon.
    #[schema(required = true)]
    risk: Option<PairRisk>,
    /// Pourquoi le binôme s'est arrêté ; `null` s'il n'est pas clos.
    #[schema(required = true)]
    close_reason: Option<CloseReason>,
    /// La durée du programme et la question posée à son approche.
    programme: PairProgramme,
}

/// Pourquoi le binôme demande l'attention de l'association, et depuis quand.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PairRisk {
    /// La raison, en code stable.
    reason: RiskReason,
    /// La raison, en français.
    label: &'static str,
    /// Depuis quand (UTC).
    since: DateTime<Utc>,
}

/// Le programme du binôme : sa durée, sa fin, et si les deux continuent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PairProgramme {
    /// Durée totale du programme, en mois depuis le début du binôme.
    months: u32,
    /// Date de fin du programme ; `null` tant que le binôme n'a pas commencé.
    #[schema(required = true)]
    ends_on: Option<NaiveDate>,
    /// La question « continuez-vous ? » posée deux semaines avant la fin, et les réponses ;
    /// `null` tant qu'elle n'a pas été posée pour la durée actuelle.
    #[schema(required = true)]
    question: Option<ProgrammeEndQuestion>,
}

#[utoipa::path(
    get,
    path = "/v1/association/pairs",
    tag = "binomes",
    operation_id = "matching_list_pairs",
    summary = "Les binômes de l'association",
    description = "Tous les binômes de l'association avec leur suivi : points d'étape mensuels et réponses, binômes à risque (demande d'aide, arrêt signalé, pas encore vus deux mois de suite, silence à deux points d'étape), durée du programme et réponses à la question de fin de programme. Aucune coordonnée n'y figure.",
    security(("association" = [])),
    params(
        ("status" = Option<PairStatus>, Query, description = "Seulement les binômes dans cet état (absent : tous)."),
        ("at_risk" = Option<bool>, Query, description = "`true` : seulement les binômes en cours qui demandent l'attention de l'association."),
    ),
    responses(
        (status = 200, description = "Les binômes.", body = PairList),
        (status = 400, description = "`status` inconnu (`invalid_status`) ou `at_risk` autre que `true` / `false` (`invalid_at_risk`).", body = shared::http::ApiError),
    )
)]
/// `GET /v1/association/pairs?status=active&at_risk=true`: the association's
/// pairs with their follow-up (check-ins and their answers, risk).
async fn list_pairs(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let status = match http::query_parameter(request, "status").as_deref() {
        None => None,
        Some(raw) => Some(
            shared::people::parse_term::<PairStatus>(raw).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_status",
                    "Le paramètre status vaut proposed, active, declined ou closed.",
                )
            })?,
        ),
    };
    let at_risk = match http::query_parameter(request, "at_risk").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_at_risk",
                "Le paramètre at_risk vaut true ou false.",
            ));
        }
    };
    let pairs: Vec<PairOverview> = pairs::of_association(&app.store, &association.slug)
        .await?
        .into_iter()
        .filter(|pair| status.is_none_or(|s| pair.status == s))
        .filter(|pair| !at_risk || (pair.risk.is_some() && pair.status == PairStatus::Active))
        .map(|pair| {
            let months = pair.programme_months;
            let programme = PairProgramme {
                months,
                ends_on: pair.programme_ends_at().map(|at| at.date_naive()),
                question: pair.programme_end.filter(|q| q.months == months),
            };
            PairOverview {
                id: pair.id,
                status: pair.status,
                mentee_id: pair.mentee_id,
                mentor_id: pair.mentor_id,
                proposed_at: pair.proposed_at,
                started_at: pair.started_at,
                check_ins: pair.check_ins,
                risk: pair.risk.map(|risk| PairRisk {
                    reason: risk.reason,
                    label: risk.reason.label(),
                    since: risk.since,
                }),
                close_reason: pair.close_reason,
                programme,
            }
        })
        .collect();
    Ok(http::json(StatusCode::OK, &PairList { pairs }))
}

/// The pair, side and round a valid check-in link names, and the answer chosen.
fn check_in_link(app: &Matching, request: &Request) -> Option<(String, CheckIn)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::PairCheckIn, Utc::now())
        .ok()?;
    let mut parts = verified.subject.split(':');
    let (pair_id, side, round) = (parts.next()?, parts.next()?, parts.next()?);
    let answer = http::query_parameter(request, "answer")
        .and_then(|raw| shared::people::parse_term::<CheckInAnswer>(&raw))?;
    Some((
        token,
        CheckIn {
            pair_id: pair_id.to_owned(),
            side: shared::people::parse_term(side)?,
            round: round.parse().ok()?,
            answer,
        },
    ))
}

const CHECK_IN_EXPIRED: &str = "Ce lien de réponse n'est plus valable (il l'est jusqu'au point d'étape suivant). Écrivez directement à votre association si besoin.";

#[utoipa::path(
    get,
    path = "/v1/pairs/check-in",
    tag = "reponses",
    operation_id = "matching_check_in_page",
    summary = "Page de réponse au point d'étape",
    description = "Chaque mois, le jeune et le mentor reçoivent un point d'étape dont chaque réponse est un lien. Le lien ouvre une page qui reprend la réponse choisie, à confirmer d'un bouton (ou à changer) ; ouvrir le lien n'enregistre rien. Le lien vaut jusqu'au point d'étape suivant.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (point d'étape d'un binôme, pour un des deux côtés)."),
        ("answer" = CheckInAnswer, Query, description = "La réponse choisie dans l'e-mail."),
    ),
    responses(
        (status = 200, description = "La page, la réponse choisie d'abord.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet : jeton absent, abîmé ou fait pour un autre usage, ou `answer` manquant ou inconnu ; page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/pairs/check-in?token=&answer=`: the answer chosen in the mail,
/// to confirm with a button; opening the link records nothing.
fn check_in_page(app: &Matching, request: &Request) -> Response<Body> {
    let Some((token, chosen)) = check_in_link(app, request) else {
        return link_refused(app, request, Purpose::PairCheckIn, CHECK_IN_EXPIRED);
    };
    let mut page = Page::new(
        "Votre réponse au point d'étape",
        &[&format!(
            "Vous avez choisi : « {} ». Confirmez-la, ou choisissez une autre réponse.",
            chosen.answer.label()
        )],
    );
    let answers = std::iter::once(chosen.answer).chain(
        CheckInAnswer::ALL
            .into_iter()
            .filter(|a| *a != chosen.answer),
    );
    for answer in answers {
        page = page.with_form(FormButton {
            action: app.links.api(&format!(
                "/v1/pairs/check-in?token={token}&answer={}",
                answer.as_str()
            )),
            label: answer.label().into(),
            hidden: Vec::new(),
            // The answer chosen in the mail comes first; the others are alternatives.
            secondary: answer != chosen.answer,
        });
    }
    page.respond(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/v1/pairs/check-in",
    tag = "reponses",
    operation_id = "matching_check_in_answer",
    summary = "Répondre au point d'étape",
    description = "Le bouton de la page du point d'étape : la réponse est enregistrée sur le binôme (la première réponse d'un côté reste). « J'ai besoin d'aide » ou « Nous avons arrêté » signalent le binôme à l'association. Pas de corps.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (point d'étape d'un binôme, pour un des deux côtés)."),
        ("answer" = CheckInAnswer, Query, description = "La réponse confirmée."),
    ),
    responses(
        (status = 200, description = "Réponse enregistrée (ou déjà donnée, ou binôme clos entre-temps) : page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet : jeton absent, abîmé ou fait pour un autre usage, ou `answer` manquant ou inconnu ; page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `POST /v1/pairs/check-in?token=&answer=`: records the answer on the pair.
async fn check_in_answer(app: &Matching, request: &Request) -> Response<Body> {
    let Some((_, check_in)) = check_in_link(app, request) else {
        return link_refused(app, request, Purpose::PairCheckIn, CHECK_IN_EXPIRED);
    };
    let page = match pairs::answer_check_in(app, &check_in, Utc::now()).await {
        Ok(CheckInRecorded::Recorded | CheckInRecorded::AlreadyAnswered) => match check_in.answer {
            CheckInAnswer::AllGood => Page::new(
                "Merci, c'est noté !",
                &[
                    "Bonne continuation à votre binôme. Nous reviendrons vers vous le mois prochain.",
                ],
            ),
            CheckInAnswer::NotMetYet => Page::new(
                "Merci, c'est noté",
                &[
                    "Prenez contact dès que possible : un premier échange, même court, lance le binôme. Si le contact ne se fait pas, l'association vous aidera.",
                ],
            ),
            CheckInAnswer::NeedHelp | CheckInAnswer::Stopped => Page::new(
                "Merci, l'association est prévenue",
                &["Elle vous recontactera rapidement pour en parler avec vous."],
            ),
        },
        Ok(CheckInRecorded::PairOver) => Page::new(
            "Ce binôme est clos",
            &["Il a été clos entre-temps : votre réponse n'est plus nécessaire."],
        ),
        Err(error) => {
            tracing::error!(%error, "check-in answer failed");
            return Page::unavailable("Votre réponse n'a pas été enregistrée.");
        }
    };
    page.respond(StatusCode::OK)
}

/// The pair and side a valid survey link names.
fn survey_link(app: &Matching, request: &Request) -> Option<(String, String, Role)> {
    let token = http::query_parameter(request, "token")?;
    let verified = app
        .keyring
        .tokens
        .verify(&token, Purpose::OutcomeSurvey, Utc::now())
        .ok()?;
    let (pair, side) = verified.subject.split_once(':')?;
    Some((token, pair.to_owned(), shared::people::parse_term(side)?))
}

const SURVEY_EXPIRED: &str = "Ce lien vers le questionnaire n'est plus valable (il l'est deux mois). Merci d'avoir voulu répondre !";

/// The survey's questions, with what was answered and the problems found.
fn survey(
    app: &Matching,
    token: &str,
    side: Role,
    kept: &std::collections::HashMap<String, String>,
    problems: &[FieldError],
) -> Questionnaire {
    let question = |name: &str, legend: &str, options: Vec<(String, String)>| Question {
        name: name.to_owned(),
        legend: legend.to_owned(),
        options,
        value: kept.get(name).cloned().unwrap_or_default(),
        error: problems
            .iter()
            .find(|p| p.field == name)
            .map(|p| p.message.clone()),
    };
    let mut questions = Vec::new();
    if side == Role::Mentee {
        questions.push(question(
            "situation_now",
            "Votre situation aujourd'hui",
            SituationNow::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
                .collect(),
        ));
    }
    questions.push(question(
        "helped",
        "Le mentorat vous a-t-il aidé·e ? (de 1 : pas du tout, à 5 : beaucoup)",
        (1..=5).map(|n| (n.to_string(), n.to_string())).collect(),
    ));
    questions.push(question(
        "recommend",
        "Le recommanderiez-vous à quelqu'un ?",
        vec![("oui".into(), "Oui".into()), ("non".into(), "Non".into())],
    ));
    questions.push(question(
        "comment",
        "Un commentaire ? (facultatif)",
        Vec::new(),
    ));
    Questionnaire {
        action: app.links.api(&format!("/v1/pairs/outcome?token={token}")),
        questions,
        submit: "Envoyer mes réponses".into(),
    }
}

const SURVEY_INTRO: &str = "Vos réponses sont enregistrées sans votre nom ni vos coordonnées : elles servent à mesurer ce que le mentorat change.";

#[utoipa::path(
    get,
    path = "/v1/pairs/outcome",
    tag = "reponses",
    operation_id = "matching_survey_page",
    summary = "Questionnaire des six mois",
    description = "Six mois après le début du binôme, le jeune et le mentor reçoivent un lien vers un court questionnaire (la situation du jeune aujourd'hui, si le mentorat a aidé, s'ils le recommanderaient). Le lien est valable deux mois.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (questionnaire d'un binôme, pour un des deux côtés)."),
    ),
    responses(
        (status = 200, description = "Le questionnaire.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet : jeton absent, abîmé ou fait pour un autre usage ; page HTML qui le dit.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `GET /v1/pairs/outcome?token=`: the survey form.
fn survey_page(app: &Matching, request: &Request) -> Response<Body> {
    let Some((token, _, side)) = survey_link(app, request) else {
        return link_refused(app, request, Purpose::OutcomeSurvey, SURVEY_EXPIRED);
    };
    Page::new("Six mois de binôme", &[SURVEY_INTRO])
        .with_questionnaire(survey(app, &token, side, &Default::default(), &[]))
        .respond(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/v1/pairs/outcome",
    tag = "reponses",
    operation_id = "matching_survey_answer",
    summary = "Répondre au questionnaire des six mois",
    description = "Le formulaire du questionnaire. Les réponses sont gardées à part, sans nom ni coordonnées, pour les chiffres du réseau ; la première réponse d'une personne reste.",
    params(
        ("token" = String, Query, description = "Jeton signé du lien reçu par e-mail (questionnaire d'un binôme, pour un des deux côtés)."),
    ),
    request_body(
        content = contract::OutcomeSurveyForm,
        content_type = "application/x-www-form-urlencoded"
    ),
    responses(
        (status = 200, description = "Réponses enregistrées (ou déjà données) : page de remerciement.", content_type = "text/html", body = String),
        (status = 400, description = "Lien invalide ou incomplet (page qui le dit), ou réponse manquante ou invalide : le questionnaire à nouveau, avec ce qui était rempli et l'erreur sous chaque question.", content_type = "text/html", body = String),
        (status = 410, description = "Lien expiré, ou questionnaire introuvable (binôme effacé) : page HTML qui le dit.", content_type = "text/html", body = String),
    )
)]
/// `POST /v1/pairs/outcome?token=`: the answers, kept apart from the person.
async fn survey_answer(app: &Matching, request: &Request) -> Response<Body> {
    let Some((token, pair_id, side)) = survey_link(app, request) else {
        return link_refused(app, request, Purpose::OutcomeSurvey, SURVEY_EXPIRED);
    };
    let body: &[u8] = request.body().as_ref();
    let answers = match OutcomeAnswers::parse_form(body, side) {
        Ok(answers) => answers,
        Err(problems) => {
            let kept = url::form_urlencoded::parse(body).into_owned().collect();
            return Page::new(
                "Six mois de binôme",
                &[
                    "Il manque une réponse : complétez le questionnaire ci-dessous.",
                    SURVEY_INTRO,
                ],
            )
            .with_questionnaire(survey(app, &token, side, &kept, &problems))
            .respond(StatusCode::BAD_REQUEST);
        }
    };
    match pairs::answer_outcome(app, &pair_id, side, answers, Utc::now()).await {
        Ok(OutcomeRecorded::Recorded | OutcomeRecorded::AlreadyAnswered) => Page::new(
            "Merci pour vos réponses !",
            &["Elles aident l'association et tout le réseau à mieux accompagner les prochains binômes."],
        )
        .respond(StatusCode::OK),
        Ok(OutcomeRecorded::Gone) => {
            Page::new("Lien expiré", &[SURVEY_EXPIRED]).respond(StatusCode::GONE)
        }
        Err(error) => {
            tracing::error!(%error, "survey answer failed");
            Page::unavailable("Vos réponses n'ont pas été enregistrées.")
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/association/pairs/export",
    tag = "binomes",
    operation_id = "matching_export_pairs",
    summary = "Exporter les binômes en CSV",
    description = "Le même fichier que l'export de la page des binômes : une ligne par binôme, du plus ancien au plus récent, avec son identifiant, son état, les prénoms, les dates de proposition, de début et de fin, le motif de fin et la durée en jours. Aucune coordonnée ni donnée sensible. UTF-8 avec marque d'ordre des octets, séparateur virgule.",
    security(("association" = [])),
    responses(
        (status = 200, description = "Le fichier CSV, en pièce jointe.", content_type = "text/csv", body = String),
    )
)]
/// `GET /v1/association/pairs/export`: the page's CSV, by key or session.
#[tracing::instrument(skip_all)]
async fn export_pairs(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    space::pairs_csv(app, &association)
        .await?
        .ok_or_else(ApiError::unavailable)
}

/// Le vivier de l'association.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Pool {
    /// Les jeunes qui attendent un binôme, la demande la plus ancienne d'abord.
    mentees: Vec<PoolMentee>,
    /// Les mentors, ceux qui ont le plus de places libres d'abord.
    mentors: Vec<PoolMentor>,
}

/// Un·e jeune du vivier, sans coordonnées.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PoolMentee {
    id: String,
    first_name: String,
    /// Sa demande en quelques mots.
    about: String,
    /// Moins de 18 ans (ou âge inconnu) : seul un mentor dont l'association a vérifié l'honorabilité lui est proposé.
    minor: bool,
    verified_at: Option<chrono::DateTime<Utc>>,
    /// Ses e-mails ne lui parviennent pas : à appeler.
    unreachable: bool,
}

/// Un mentor du vivier, sans coordonnées.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PoolMentor {
    id: String,
    first_name: String,
    about: String,
    /// Jeunes qu'il ou elle peut accompagner à la fois.
    capacity: u8,
    /// Binômes proposés ou en cours.
    pairs_held: u8,
    /// Places libres.
    room: u8,
    /// La vérification d'honorabilité enregistrée par cette association ; `null` sinon.
    #[schema(required = true)]
    honorability: Option<shared::people::Honorability>,
    unreachable: bool,
}

#[utoipa::path(
    get,
    path = "/v1/association/pool",
    tag = "binomes",
    operation_id = "pool_read",
    summary = "Le vivier de l'association",
    description = "Les jeunes qui attendent un binôme et les mentors de l'association, avec leurs places et leur vérification d'honorabilité ; sans coordonnées.",
    security(("association" = [])),
    responses((status = 200, description = "Le vivier.", body = Pool))
)]
/// `GET /v1/association/pool`
pub(crate) async fn pool(app: &Matching, request: &Request) -> Result<Response<Body>, ApiError> {
    let (association, _) = staff::authorise(&app.store, request, Utc::now()).await?;
    let slug = &association.slug;
    let today = Utc::now().date_naive();
    let (mentees, mentors) = space::pool_members(app, slug).await?;
    let pool = Pool {
        mentees: mentees
            .into_iter()
            .map(|m| PoolMentee {
                about: m.about(today),
                minor: m.is_minor(today),
                verified_at: m.verified_at,
                unreachable: m.unreachable.is_some(),
                first_name: m.first_name,
                id: m.id,
            })
            .collect(),
        mentors: mentors
            .into_iter()
            .map(|m| PoolMentor {
                about: m.about(today),
                capacity: m.capacity.unwrap_or(1),
                pairs_held: m.pairs_held,
                room: m.room(),
                honorability: m
                    .honorability
                    .clone()
                    .filter(|check| check.association == *slug),
                unreachable: m.unreachable.is_some(),
                first_name: m.first_name,
                id: m.id,
            })
            .collect(),
    };
    Ok(http::json(StatusCode::OK, &pool))
}
