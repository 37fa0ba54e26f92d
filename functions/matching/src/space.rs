//! Matching in the staff space: start a run, then review its drafts —
//! approve all, approve some, reject some with a reason. Only approved
//! drafts are proposed, and only then are the two people mailed. Then the
//! pairs: proposed, active and over, closed with a reason (both told), and
//! exported as CSV.

use askama::Template;
use chrono::Utc;
use lambda_http::{Body, Request, Response, http::StatusCode};
use serde::Deserialize;
use shared::{
    directory::AssociationRecord,
    http,
    journal::Actor,
    pages::Page,
    people::{ProfileStatus, Role},
    site::{SpaceNav, html, paris_time, posted, see_other, unindexed},
    staff::{InSpace, in_space},
    store::StoreError,
};

use shared::pair::PairStatus;

use crate::{
    Matching, Review,
    algorithm::Objective,
    chosen_drafts,
    drafts::{self, DraftStatus},
    own_run, pairs, path_id,
    pool::Member,
    rejection_reason,
    runs::{self, Run, RunSource, RunStatus},
    start_run,
};

const RUNS: &str = "/association/appariement";
/// Runs listed.
const LISTED: i32 = 10;

#[derive(Template)]
#[template(path = "space/runs.html")]
struct RunsPage {
    nav: SpaceNav,
    in_review: Option<String>,
    runs: Vec<RunRow>,
    objectives: [(&'static str, &'static str, &'static str); 2],
}

struct RunRow {
    href: String,
    when: String,
    source: &'static str,
    status: String,
}

#[derive(Template)]
#[template(path = "space/run.html")]
struct RunPage {
    nav: SpaceNav,
    id: String,
    when: String,
    objective: &'static str,
    finished: bool,
    /// The summary in sentences.
    summary: Vec<String>,
    drafts: Vec<DraftRow>,
    pending: usize,
    reason: String,
    error: Option<String>,
    done: Option<String>,
}

struct DraftRow {
    mentee_id: String,
    mentee: String,
    mentor: String,
    score: u32,
    reasons: String,
    status: &'static str,
    pending: bool,
}

async fn space(
    app: &Matching,
    request: &Request,
) -> Result<Result<InSpace, Response<Body>>, StoreError> {
    // Signed out, a form's POST comes back to the page it was on.
    let path = request.uri().path();
    let page = match request.method().as_str() {
        "POST" if path.starts_with(PAIRS) => PAIRS,
        "POST" if path != RUNS => path.rsplit_once('/').map_or(path, |(page, _)| page),
        _ => path,
    };
    in_space(&app.store, request, page, Utc::now()).await
}

fn status_in_words(run: &Run, pending: usize) -> String {
    match run.status {
        RunStatus::Requested | RunStatus::Running => "En cours".to_owned(),
        RunStatus::Done if pending > 0 => format!("{pending} binôme(s) à relire"),
        RunStatus::Done => "Terminé".to_owned(),
    }
}

/// The association's latest runs and the one in review.
pub(crate) struct LatestRuns {
    /// The run in review, if any: only its drafts can still wait.
    pub in_review: Option<String>,
    /// Newest first, each with its drafts still to review.
    pub listed: Vec<(Run, usize)>,
}

#[tracing::instrument(skip_all, fields(association = slug))]
pub(crate) async fn latest_runs(app: &Matching, slug: &str) -> Result<LatestRuns, StoreError> {
    let in_review = drafts::in_review(&app.store, slug).await?;
    let mut listed = Vec::new();
    for run in runs::latest(&app.store, slug, LISTED).await? {
        let pending = if in_review.as_deref() == Some(run.id.as_str()) {
            drafts::pending_count(&drafts::of_run(&app.store, &run.id).await?)
        } else {
            0
        };
        listed.push((run, pending));
    }
    Ok(LatestRuns { in_review, listed })
}

/// `GET /association/appariement`
pub async fn runs(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let LatestRuns { in_review, listed } =
                latest_runs(app, &space.association.slug).await?;
            let rows = listed
                .iter()
                .map(|(run, pending)| RunRow {
                    href: format!("{RUNS}/{}", run.id),
                    when: when(run),
                    source: match run.source {
                        RunSource::Request => "Lancé par l'équipe",
                        RunSource::Schedule => "Run de la nuit",
                    },
                    status: status_in_words(run, *pending),
                })
                .collect();
            let page = RunsPage {
                nav: space.nav("appariement"),
                in_review: in_review.map(|id| format!("{RUNS}/{id}")),
                runs: rows,
                objectives: [
                    (
                        "most_pairs",
                        "Le plus de binômes",
                        Objective::MostPairs.in_words(),
                    ),
                    (
                        "score_only",
                        "Les binômes les mieux assortis",
                        Objective::ScoreOnly.in_words(),
                    ),
                ],
            };
            Ok(unindexed(html(StatusCode::OK, page.render())))
        }
        .await,
        "Rien n'a été modifié",
    )
}

fn when(run: &Run) -> String {
    chrono::DateTime::parse_from_rfc3339(&run.requested_at)
        .map(|at| paris_time(at.with_timezone(&Utc)))
        .unwrap_or_else(|_| run.requested_at.clone())
}

#[derive(Debug, Default, Deserialize)]
struct StartForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    objective: String,
}

/// `POST /association/appariement {objective}`: a run, then its page.
pub async fn start(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let form: StartForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), RUNS) {
                return Ok(refused);
            }
            let objective = match form.objective.as_str() {
                "score_only" => Objective::ScoreOnly,
                _ => Objective::MostPairs,
            };
            Ok(match start_run(app, &space.association, objective).await? {
                Ok(run) => see_other(&format!("{RUNS}/{}", run.id)),
                // Its drafts first: the page says so.
                Err(in_review) => see_other(&format!("{RUNS}/{in_review}")),
            })
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// `GET /association/appariement/{id}`
pub async fn run(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let done = http::query_parameter(request, "fait");
            show(
                app,
                &space,
                &path_id(request),
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

async fn show(
    app: &Matching,
    space: &InSpace,
    id: &str,
    reason: String,
    error: Option<String>,
    done: Option<String>,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let run = match own_run(app, &space.association, id).await {
        Ok(run) => run,
        Err(_) => {
            return Ok(space.notice(
                "appariement",
                StatusCode::NOT_FOUND,
                "Run introuvable",
                &["Ce run n'existe pas, ou il n'est pas celui de votre association."],
                (RUNS, "Revenir à l'appariement"),
            ));
        }
    };
    let drafts = drafts::of_run(&app.store, &run.id).await?;
    let summary = run.summary.as_ref().map_or_else(Vec::new, |s| {
        let mut lines = vec![format!(
            "Au départ : {} jeune(s) qui attendaient un mentor, {} mentor(s) avec une place.",
            s.mentees, s.mentors
        )];
        if s.drafts > 0 {
            lines.push(format!(
                "{} binôme(s) trouvé(s), pour un total de {} points : ils attendent votre relecture, personne n'a encore été prévenu.",
                s.drafts, s.objective
            ));
        } else {
            lines.push(format!(
                "{} binôme(s) proposé(s), pour un total de {} points.",
                s.pairs, s.objective
            ));
        }
        lines.push(format!("{} jeune(s) restent sans binôme trouvé.", s.unmatched));
        if s.optimal {
            lines.push("Aucune autre répartition de votre vivier ne ferait mieux : ces binômes sont la meilleure solution possible, vérifiée sur tous les binômes compatibles.".to_owned());
        } else if s.could_improve > 0 {
            lines.push(format!(
                "Le temps imparti a arrêté la vérification : {} binôme(s) compatible(s) pourraient encore améliorer la solution ; relancez un run pour la poursuivre.",
                s.could_improve
            ));
        }
        lines
    });
    let pending = drafts::pending_count(&drafts);
    let page = RunPage {
        nav: space.nav("appariement"),
        id: run.id.clone(),
        when: when(&run),
        objective: run.objective.in_words(),
        finished: run.status == RunStatus::Done,
        summary,
        pending,
        drafts: drafts
            .into_iter()
            .map(|d| DraftRow {
                pending: d.status == DraftStatus::Pending,
                status: match d.status {
                    DraftStatus::Pending => "À relire",
                    DraftStatus::Approved => "Approuvé, proposé",
                    DraftStatus::Rejected => "Rejeté",
                    DraftStatus::Skipped => "Non proposé : une personne n'était plus disponible",
                },
                mentee: format!("{} — {}", d.mentee_first_name, d.about_mentee),
                mentor: format!("{} — {}", d.mentor_first_name, d.about_mentor),
                score: d.score,
                reasons: d.reasons.join(" ; "),
                mentee_id: d.mentee_id,
            })
            .collect(),
        reason,
        error,
        done: done.and_then(|code| done_text(&code)),
    };
    Ok(unindexed(html(status, page.render())))
}

fn done_text(code: &str) -> Option<String> {
    let (kind, counts) = code.split_once('-')?;
    let numbers: Vec<usize> = counts.split('-').filter_map(|n| n.parse().ok()).collect();
    match (kind, numbers.as_slice()) {
        ("approbation", [approved, skipped]) => Some(if *skipped > 0 {
            format!(
                "{approved} binôme(s) proposé(s) : les deux personnes reçoivent un e-mail. {skipped} n'ont pas pu l'être : l'une des personnes n'était plus disponible."
            )
        } else {
            format!("{approved} binôme(s) proposé(s) : les deux personnes reçoivent un e-mail.")
        }),
        ("rejet", [rejected]) => Some(format!(
            "{rejected} binôme(s) rejeté(s) : ils ne seront plus proposés."
        )),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ReviewForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    mentees: Vec<String>,
    #[serde(default)]
    reason: String,
}

/// `POST /association/appariement/{id}/relecture {decision, mentees[], reason}`
pub async fn review(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let now = Utc::now();
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let id = path_id(request);
            let back = format!("{RUNS}/{id}");
            let form: ReviewForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), &back) {
                return Ok(refused);
            }
            let (way, all) = match form.decision.as_str() {
                "approve_all" => (Review::Approve, true),
                "reject" => (Review::Reject, false),
                _ => (Review::Approve, false),
            };
            let chosen = match chosen_drafts(way, all, &form.mentees) {
                Ok(chosen) => chosen,
                Err(_) => {
                    let message = "Cochez au moins un binôme.".to_owned();
                    return show(
                        app,
                        &space,
                        &id,
                        form.reason.clone(),
                        Some(message),
                        None,
                        StatusCode::BAD_REQUEST,
                    )
                    .await;
                }
            };
            let run = match own_run(app, &space.association, &id).await {
                Ok(run) => run,
                Err(_) => {
                    return show(
                        app,
                        &space,
                        &id,
                        String::new(),
                        None,
                        None,
                        StatusCode::NOT_FOUND,
                    )
                    .await;
                }
            };
            let actor = Actor::staff(space.account());
            let association = &space.association;
            let location = match way {
                Review::Approve => {
                    let reviewed =
                        drafts::approve(app, association, &run.id, chosen, &actor, now).await?;
                    format!(
                        "{back}?fait=approbation-{}-{}",
                        reviewed.approved, reviewed.skipped
                    )
                }
                Review::Reject => {
                    let reason = match rejection_reason(Some(&form.reason)) {
                        Ok(reason) => reason,
                        Err(error) => {
                            let message = error.fields.first().map(|f| f.message.clone());
                            return show(
                                app,
                                &space,
                                &id,
                                form.reason.clone(),
                                message,
                                None,
                                StatusCode::BAD_REQUEST,
                            )
                            .await;
                        }
                    };
                    let reviewed = drafts::reject(
                        app,
                        association,
                        &run.id,
                        chosen.unwrap_or_default(),
                        &reason,
                        &actor,
                        now,
                    )
                    .await?;
                    format!("{back}?fait=rejet-{}", reviewed.rejected)
                }
            };
            Ok(see_other(&location))
        }
        .await,
        "Rien n'a été modifié",
    )
}

const PAIRS: &str = "/association/binomes";

#[derive(Template)]
#[template(path = "space/pairs.html")]
struct PairsPage {
    nav: SpaceNav,
    /// (label, href, count, shown)
    tabs: Vec<(&'static str, &'static str, usize, bool)>,
    /// Active pairs at risk, listed first (in the active tab).
    at_risk: usize,
    rows: Vec<PairRow>,
    closable: bool,
    reasons: [(&'static str, &'static str); 4],
    done: Option<&'static str>,
    error: Option<String>,
}

struct PairRow {
    id: String,
    mentee: String,
    mentor: String,
    status: &'static str,
    proposed_on: String,
    started_on: String,
    ended_on: String,
    follow_up: String,
}

/// Which tab a pair is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Proposed,
    Active,
    Over,
}

impl Shown {
    fn of(status: PairStatus) -> Self {
        match status {
            PairStatus::Proposed => Shown::Proposed,
            PairStatus::Active => Shown::Active,
            PairStatus::Declined | PairStatus::Closed => Shown::Over,
        }
    }
}

const CLOSE_REASONS: [(&str, &str); 4] = [
    ("completed", "Le mentorat est terminé"),
    (
        "no_contact",
        "Le contact ne s'est pas fait (le ou la jeune est proposé·e à un autre mentor)",
    ),
    ("moved", "Déménagement ou changement de situation"),
    ("other", "Autre raison"),
];

fn day(instant: Option<&str>) -> String {
    instant
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map(|at| {
            at.with_timezone(&chrono_tz::Europe::Paris)
                .format("%d/%m/%Y")
                .to_string()
        })
        .unwrap_or_default()
}

fn status_label(pair: &shared::pair::Pair) -> &'static str {
    match pair.status {
        PairStatus::Proposed => "Proposé, en attente des réponses",
        PairStatus::Active => "En cours",
        PairStatus::Declined => "Décliné",
        PairStatus::Closed => "Clos",
    }
}

fn follow_up(pair: &shared::pair::Pair) -> String {
    match pair.status {
        PairStatus::Proposed => format!(
            "Jeune : {} ; mentor : {}",
            if pair.mentee_accepted_at.is_some() {
                "a accepté"
            } else {
                "pas encore répondu"
            },
            if pair.mentor_accepted_at.is_some() {
                "a accepté"
            } else {
                "pas encore répondu"
            },
        ),
        PairStatus::Active => pair.risk.as_ref().map_or_else(
            || "Rien à signaler".to_owned(),
            |risk| format!("À risque : {}", risk.reason.label()),
        ),
        PairStatus::Declined => "Une des deux personnes a décliné".to_owned(),
        PairStatus::Closed => pair
            .close_reason
            .map(|reason| crate::close_reason_label(reason).to_owned())
            .unwrap_or_default(),
    }
}

/// `GET /association/binomes?statut=proposes|en-cours|termines`
pub async fn pairs(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let done = match http::query_parameter(request, "fait").as_deref() {
                Some("cloture") => Some("Binôme clos : les deux personnes reçoivent un e-mail."),
                Some("proposition") => Some(
                    "Binôme proposé : les deux personnes reçoivent un e-mail pour accepter ou décliner.",
                ),
                _ => None,
            };
            list(app, &space, request, done, None, StatusCode::OK).await
        }
        .await,
        "Rien n'a été modifié",
    )
}

async fn list(
    app: &Matching,
    space: &InSpace,
    request: &Request,
    done: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let shown = match http::query_parameter(request, "statut").as_deref() {
        Some("proposes") => Shown::Proposed,
        Some("termines") => Shown::Over,
        _ => Shown::Active,
    };
    let mut all = pairs::of_association(&app.store, &space.association.slug).await?;
    // Newest first, the active pairs at risk before all others.
    all.sort_by(|a, b| {
        let at_risk = |p: &shared::pair::Pair| p.status == PairStatus::Active && p.risk.is_some();
        at_risk(b)
            .cmp(&at_risk(a))
            .then(b.proposed_at.cmp(&a.proposed_at))
    });
    let at_risk = all
        .iter()
        .filter(|p| p.status == PairStatus::Active && p.risk.is_some())
        .count();
    let count = |tab: Shown| all.iter().filter(|p| Shown::of(p.status) == tab).count();
    let tabs = vec![
        (
            "En cours",
            "/association/binomes",
            count(Shown::Active),
            shown == Shown::Active,
        ),
        (
            "Proposés",
            "/association/binomes?statut=proposes",
            count(Shown::Proposed),
            shown == Shown::Proposed,
        ),
        (
            "Terminés",
            "/association/binomes?statut=termines",
            count(Shown::Over),
            shown == Shown::Over,
        ),
    ];
    let rows = all
        .iter()
        .filter(|p| Shown::of(p.status) == shown)
        .map(|pair| PairRow {
            id: pair.id.clone(),
            mentee: pair.mentee_first_name.clone(),
            mentor: pair.mentor_first_name.clone(),
            status: status_label(pair),
            proposed_on: day(Some(&pair.proposed_at)),
            started_on: day(pair.started_at.as_deref()),
            ended_on: day(pair.ended_at.as_deref()),
            follow_up: follow_up(pair),
        })
        .collect();
    let page = PairsPage {
        nav: space.nav("binomes"),
        tabs,
        at_risk: if shown == Shown::Active { at_risk } else { 0 },
        rows,
        closable: shown != Shown::Over,
        reasons: CLOSE_REASONS,
        done,
        error,
    };
    Ok(unindexed(html(status, page.render())))
}

#[derive(Debug, Default, Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
}

/// `POST /association/binomes/{id}/cloture {reason}`: both people are told.
pub async fn close(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let form: CloseForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), PAIRS) {
                return Ok(refused);
            }
            let actor = Actor::staff(space.account());
            match crate::close_pair(
                app,
                &space.association,
                &path_id(request),
                Some(&form.reason),
                actor,
            )
            .await
            {
                Ok(_) => Ok(see_other("/association/binomes?fait=cloture")),
                Err(error) if error.status == StatusCode::BAD_REQUEST => {
                    list(
                        app,
                        &space,
                        request,
                        None,
                        Some("Choisissez pourquoi le binôme se termine.".into()),
                        StatusCode::BAD_REQUEST,
                    )
                    .await
                }
                Err(error) if error.status == StatusCode::NOT_FOUND => Ok(space.notice(
                    "binomes",
                    StatusCode::NOT_FOUND,
                    "Binôme introuvable",
                    &["Ce binôme n'existe pas, ou il n'est pas celui de votre association."],
                    (PAIRS, "Revenir aux binômes"),
                )),
                Err(error) => Ok(space.notice(
                    "binomes",
                    error.status,
                    "Le binôme n'a pas été clos",
                    &[&error.message],
                    (PAIRS, "Revenir aux binômes"),
                )),
            }
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// A cell a spreadsheet shows as text, never runs as a formula.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// `GET /association/binomes/export`: the association's pairs as CSV.
pub async fn export(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            Ok(pairs_csv(app, &space.association)
                .await?
                .unwrap_or_else(|| Page::unavailable("L'export n'est pas disponible")))
        }
        .await,
        "Rien n'a été modifié",
    )
}

/// The association's pairs as a CSV file to download (first names,
/// status, dates; no contact detail, nothing sensitive), for the page and
/// the JSON route alike; `None` when the file could not be written.
#[tracing::instrument(skip_all, fields(association = association.slug))]
pub(crate) async fn pairs_csv(
    app: &Matching,
    association: &AssociationRecord,
) -> Result<Option<Response<Body>>, StoreError> {
    let mut all = pairs::of_association(&app.store, &association.slug).await?;
    all.sort_by(|a, b| a.proposed_at.cmp(&b.proposed_at));
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "binome",
        "statut",
        "jeune",
        "mentor",
        "propose_le",
        "commence_le",
        "termine_le",
        "motif_de_fin",
        "duree_jours",
    ];
    let written = csv.write_record(header).and_then(|()| {
        all.iter().try_for_each(|pair| {
            csv.write_record([
                pair.id.clone(),
                pair.status.as_str().to_owned(),
                spreadsheet_safe(&pair.mentee_first_name),
                spreadsheet_safe(&pair.mentor_first_name),
                day(Some(&pair.proposed_at)),
                day(pair.started_at.as_deref()),
                day(pair.ended_at.as_deref()),
                pair.close_reason.map_or("", |r| r.as_str()).to_owned(),
                pair.duration_days
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ])
        })
    });
    let Some(bytes) = written.ok().and_then(|()| csv.into_inner().ok()) else {
        return Ok(None);
    };
    let name = format!(
        "binomes-{}-{}.csv",
        association.slug,
        Utc::now().format("%Y-%m-%d")
    );
    let file = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/csv; charset=utf-8")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        )
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        // With its byte order mark, a spreadsheet reads the accents as UTF-8.
        .body(Body::Text(format!(
            "\u{feff}{}",
            String::from_utf8_lossy(&bytes)
        )))
        .expect("the file name is made of the slug and a date");
    Ok(Some(file))
}

#[derive(Template)]
#[template(path = "space/suggestions.html")]
struct SuggestionsPage {
    nav: SpaceNav,
    mentee_id: String,
    mentee: String,
    /// (mentor id, name and about, score, reasons, places left)
    mentors: Vec<(String, String, u32, String, u8)>,
    held_back: Vec<String>,
    error: Option<String>,
}

/// The mentee a suggestions page is about, with the page's answer if not.
async fn suggestions_page(
    app: &Matching,
    space: &InSpace,
    mentee_id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response<Body>, StoreError> {
    let mentee = match crate::held_member(
        app,
        &space.association,
        mentee_id,
        shared::people::Role::Mentee,
    )
    .await
    {
        Ok(mentee) => mentee,
        Err(_) => {
            return Ok(space.notice(
                "demandes",
                StatusCode::NOT_FOUND,
                "Demande introuvable",
                &["Ce ou cette jeune n'est pas (ou plus) confié·e à votre association."],
                ("/association/demandes", "Revenir aux demandes"),
            ));
        }
    };
    let about = format!(
        "{} — {}",
        mentee.first_name,
        mentee.about(Utc::now().date_naive())
    );
    let suggested = crate::suggest(app, &space.association, mentee, 5).await?;
    let page = SuggestionsPage {
        nav: space.nav("demandes"),
        mentee_id: mentee_id.to_owned(),
        mentee: about,
        mentors: suggested
            .suggestions
            .into_iter()
            .map(|m| {
                let who = format!("{} — {}", m.first_name, m.about);
                (
                    m.mentor_id,
                    who,
                    m.score,
                    m.reasons.join(" ; "),
                    m.places_left,
                )
            })
            .collect(),
        held_back: suggested.held_back.into_iter().map(|h| h.text).collect(),
        error,
    };
    Ok(unindexed(html(status, page.render())))
}

/// `GET /association/suggestions/{id}`: the best mentors for one mentee,
/// and why the others are held back.
pub async fn suggestions(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            suggestions_page(app, &space, &path_id(request), None, StatusCode::OK).await
        }
        .await,
        "Les suggestions ne sont pas disponibles",
    )
}

#[derive(Debug, Default, Deserialize)]
struct ProposeForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    mentor: String,
}

/// `POST /association/suggestions/{id} {mentor}`: the pair proposed by
/// hand; both people are mailed.
pub async fn propose(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let mentee_id = path_id(request);
            let back = format!("/association/suggestions/{mentee_id}");
            let form: ProposeForm = posted(request).unwrap_or_default();
            if let Some(refused) = space.csrf_refused(form.csrf.as_deref(), &back) {
                return Ok(refused);
            }
            let actor = Actor::staff(space.account());
            match crate::propose_pair(app, &space.association, &mentee_id, &form.mentor, actor)
                .await
            {
                Ok(_) => Ok(see_other(
                    "/association/binomes?statut=proposes&fait=proposition",
                )),
                Err(error) if error.status == StatusCode::SERVICE_UNAVAILABLE => {
                    Ok(Page::unavailable("Le binôme n'a pas été proposé"))
                }
                Err(error) => {
                    suggestions_page(
                        app,
                        &space,
                        &mentee_id,
                        Some(error.message),
                        StatusCode::CONFLICT,
                    )
                    .await
                }
            }
        }
        .await,
        "Le binôme n'a pas été proposé",
    )
}

#[derive(Template)]
#[template(path = "space/pool.html")]
struct PoolPage {
    nav: SpaceNav,
    mentees: Vec<PoolMentee>,
    mentors: Vec<PoolMentor>,
    /// Mentors with a place left, and those whose check is recorded.
    mentors_with_room: usize,
    mentors_cleared: usize,
}

struct PoolMentee {
    id: String,
    who: String,
    about: String,
    since: String,
    minor: bool,
    unreachable: bool,
}

struct PoolMentor {
    id: String,
    who: String,
    capacity: u8,
    held: u8,
    room: u8,
    /// The check in words; `None`: not recorded by this association.
    honorability: Option<String>,
    unreachable: bool,
}

/// The association's pool: its mentees waiting for a mentor, longest
/// first, and its mentors, those with the most places left first.
#[tracing::instrument(skip_all, fields(association = slug))]
pub(crate) async fn pool_members(
    app: &Matching,
    slug: &str,
) -> Result<(Vec<Member>, Vec<Member>), StoreError> {
    let members = crate::pool::held(
        &app.store,
        slug,
        &[ProfileStatus::Routed, ProfileStatus::Acknowledged],
    )
    .await?;
    let (mut mentees, mut mentors): (Vec<Member>, Vec<Member>) =
        members.into_iter().partition(|m| m.role == Role::Mentee);
    mentees.sort_by_key(|m| m.verified_at);
    mentors.sort_by(|a, b| {
        b.room()
            .cmp(&a.room())
            .then(a.first_name.cmp(&b.first_name))
    });
    Ok((mentees, mentors))
}

/// `GET /association/vivier`: the mentees waiting for a mentor, longest
/// first, and the mentors with their places and honorability checks.
pub async fn pool(app: &Matching, request: &Request) -> Response<Body> {
    shared::site::or_unavailable(
        async {
            let space = match space(app, request).await? {
                Ok(space) => space,
                Err(sign_in) => return Ok(sign_in),
            };
            let slug = &space.association.slug;
            let today = Utc::now().date_naive();
            let (mentees, mentors) = pool_members(app, slug).await?;
            let mentees: Vec<PoolMentee> = mentees
                .into_iter()
                .map(|m| PoolMentee {
                    who: m.first_name.clone(),
                    about: m.about(today),
                    since: m.verified_at.map_or_else(|| "—".to_owned(), paris_time),
                    minor: m.is_minor(today),
                    unreachable: m.unreachable.is_some(),
                    id: m.id,
                })
                .collect();
            let mentors: Vec<PoolMentor> = mentors
                .into_iter()
                .map(|m| PoolMentor {
                    who: format!("{} — {}", m.first_name, m.about(today)),
                    capacity: m.capacity.unwrap_or(1),
                    held: m.pairs_held,
                    room: m.room(),
                    honorability: m
                        .honorability
                        .as_ref()
                        .filter(|check| check.association == *slug)
                        .map(|check| {
                            format!(
                                "Vérifiée le {}, par {}",
                                check.checked_on.format("%d/%m/%Y"),
                                check.by_name
                            )
                        }),
                    unreachable: m.unreachable.is_some(),
                    id: m.id,
                })
                .collect();
            let page = PoolPage {
                nav: space.nav("vivier"),
                mentors_with_room: mentors.iter().filter(|m| m.room > 0).count(),
                mentors_cleared: mentors.iter().filter(|m| m.honorability.is_some()).count(),
                mentees,
                mentors,
            };
            Ok(unindexed(html(StatusCode::OK, page.render())))
        }
        .await,
        "Rien n'a été modifié",
    )
}
