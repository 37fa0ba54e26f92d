//! The figures as the network admins, an association and the public read
//! them: months summed by month, département or association, as JSON or CSV.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Datelike, Months, NaiveDate, Utc};
use lambda_http::{
    Body, Request, Response,
    http::{StatusCode, header},
};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::{
    campaign_store,
    directory::authenticate,
    http::{self, ApiError},
    store::{StoreError, keys::index},
};

use crate::{
    Stats, cells,
    facts::{Figures, NONE, NOW, metric},
};

/// The longest range one report covers.
const MAX_MONTHS: u32 = 36;
/// How long the public impact figures may be cached.
const IMPACT_MAX_AGE_SECONDS: u32 = 3600;

/// Le regroupement des lignes : par mois, par département ou par association.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum By {
    #[default]
    Month,
    Departement,
    Association,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            By::Month => "month",
            By::Departement => "departement",
            By::Association => "association",
        }
    }
}

/// Le format du tableau : JSON ou CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

impl ReportFormat {
    fn named(raw: &str) -> Option<Self> {
        match raw {
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            _ => None,
        }
    }
}

/// A report's query, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: By,
    pub csv: bool,
    pub association: Option<String>,
}

impl ReportQuery {
    /// Every month of the range, as cells name them (`YYYY-MM`).
    pub fn months(&self) -> Vec<String> {
        let mut months = Vec::new();
        let mut month = self.from;
        while month <= self.to {
            months.push(month.format("%Y-%m").to_string());
            month = month + Months::new(1);
        }
        months
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_stats_query", message)
}

/// `YYYY-MM` as the first day of that month.
fn parse_month(raw: &str) -> Option<NaiveDate> {
    if raw.len() != 7 {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok()
}

/// Reads `from`, `to`, `by`, `format` and `association`; by default the
/// twelve months up to this one, by month, as JSON.
pub fn parse_query(request: &Request, today: NaiveDate) -> Result<ReportQuery, ApiError> {
    let this_month = today.with_day(1).expect("every month has a first day");
    let month_of = |name: &str| match http::query_parameter(request, name) {
        None => Ok(None),
        Some(raw) => parse_month(&raw).map(Some).ok_or_else(|| {
            invalid(format!(
                "« {name} » doit être un mois au format AAAA-MM, par exemple 2026-01."
            ))
        }),
    };
    let to = month_of("to")?.unwrap_or(this_month);
    let from = month_of("from")?.unwrap_or(to - Months::new(11));
    if from > to {
        return Err(invalid(
            "« from » doit précéder « to » ou lui être égal (« to » vaut le mois en cours s'il manque).",
        ));
    }
    if from + Months::new(MAX_MONTHS) <= to {
        return Err(invalid(format!(
            "Une période couvre au plus {MAX_MONTHS} mois : rapprochez « from » et « to »."
        )));
    }
    let by = match http::query_parameter(request, "by").as_deref() {
        None | Some("month") => By::Month,
        Some("departement") => By::Departement,
        Some("association") => By::Association,
        Some(_) => {
            return Err(invalid("« by » vaut month, departement ou association."));
        }
    };
    let accept_csv = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"));
    let csv = match http::query_parameter(request, "format").as_deref() {
        None => accept_csv,
        Some(raw) => match ReportFormat::named(raw) {
            Some(format) => format == ReportFormat::Csv,
            None => return Err(invalid("« format » vaut json ou csv.")),
        },
    };
    let association = http::query_parameter(request, "association");
    if let Some(slug) = &association
        && !shared::directory::valid_slug(slug)
    {
        return Err(invalid(
            "« association » est l'identifiant d'une association (lettres minuscules, chiffres, tirets).",
        ));
    }
    Ok(ReportQuery {
        from,
        to,
        by,
        csv,
        association,
    })
}

/// `GET /v1/admin/stats`: the network's figures (network admins).
#[utoipa::path(
    get,
    path = "/v1/admin/stats",
    tag = "chiffres",
    operation_id = "stats_network",
    summary = "Chiffres du réseau",
    description = "Les compteurs du réseau par mois, département ou association, les chiffres du moment et les lettres envoyées dans la période. Aucune donnée personnelle.",
    security(("admin" = [])),
    params(
        ("from" = Option<String>, Query, description = "Premier mois (AAAA-MM) ; par défaut onze mois avant `to`.", example = "2026-01", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("to" = Option<String>, Query, description = "Dernier mois (AAAA-MM) ; la période, `from` et `to` compris, couvre au plus 36 mois ; par défaut le mois en cours.", example = "2026-12", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("by" = Option<By>, Query, description = "Regroupement des lignes ; par défaut `month`."),
        ("format" = Option<ReportFormat>, Query, description = "`csv` pour un tableur (ou l'en-tête `Accept: text/csv`) ; par défaut `json`."),
        ("association" = Option<String>, Query, description = "Les chiffres d'une seule association (son identifiant).", pattern = "^[a-z0-9-]+$"),
    ),
    responses(
        (status = 200, description = "Les chiffres, en JSON ou en CSV (séparateur virgule, UTF-8).", content(
            (StatsReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Paramètre invalide (`invalid_stats_query`) : le message dit lequel et comment le corriger.", body = shared::http::ApiError),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn network(app: &Stats, request: &Request) -> Result<Response<Body>, ApiError> {
    app.admin_key.check(request)?;
    let query = parse_query(request, Utc::now().date_naive())?;
    let figures = cells::read(&app.store, &query.months(), query.association.as_deref()).await?;
    let mut report = Report::of(&query, &figures);
    if !query.csv {
        report.campaigns = Some(campaigns(app, &query).await?);
    }
    Ok(report.respond(&query))
}

/// `GET /v1/association/stats`: an association's own figures.
#[utoipa::path(
    get,
    path = "/v1/association/stats",
    tag = "chiffres",
    operation_id = "stats_association",
    summary = "Chiffres de votre association",
    description = "Les mêmes compteurs, pour votre association seulement ; les réponses aux questionnaires d'une ligne sont masquées (`null`) sous cinq réponses.",
    security(("association" = [])),
    params(
        ("from" = Option<String>, Query, description = "Premier mois (AAAA-MM) ; par défaut onze mois avant `to`.", example = "2026-01", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("to" = Option<String>, Query, description = "Dernier mois (AAAA-MM) ; la période, `from` et `to` compris, couvre au plus 36 mois ; par défaut le mois en cours.", example = "2026-12", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("by" = Option<By>, Query, description = "Regroupement des lignes ; par défaut `month`."),
        ("format" = Option<ReportFormat>, Query, description = "`csv` pour un tableur (ou l'en-tête `Accept: text/csv`) ; par défaut `json`."),
        ("association" = Option<String>, Query, description = "Les chiffres d'une seule association (son identifiant).", pattern = "^[a-z0-9-]+$"),
    ),
    responses(
        (status = 200, description = "Les chiffres, en JSON ou en CSV (séparateur virgule, UTF-8).", content(
            (StatsReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Paramètre invalide (`invalid_stats_query`).", body = shared::http::ApiError),
        (status = 403, description = "`association` nomme une autre association (`other_association`).", body = shared::http::ApiError),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn association(app: &Stats, request: &Request) -> Result<Response<Body>, ApiError> {
    let association = authenticate(&app.store, request).await?;
    let mut query = parse_query(request, Utc::now().date_naive())?;
    match &query.association {
        Some(slug) if *slug != association.slug => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "other_association",
                "Vous ne pouvez lire que les chiffres de votre association.",
            ));
        }
        _ => query.association = Some(association.slug.clone()),
    }
    let figures = cells::read(&app.store, &query.months(), Some(&association.slug)).await?;
    let mut report = Report::of(&query, &figures);
    report.hide_few_outcomes = true;
    Ok(report.respond(&query))
}

/// `GET /v1/stats/impact`: the network's totals this year and last, public.
#[utoipa::path(
    get,
    path = "/v1/stats/impact",
    tag = "chiffres",
    operation_id = "stats_impact",
    summary = "Chiffres d'impact publics",
    description = "Les totaux du réseau pour l'année en cours et la précédente : binômes formés, jeunes accompagné·es, part des binômes encore actifs six mois après leur début (calculée sur les binômes commencés il y a plus de six mois). Mis en cache une heure.",
    responses((status = 200, description = "Les deux années, la plus récente d'abord.", body = Impact))
)]
#[tracing::instrument(skip_all)]
pub async fn impact(app: &Stats) -> Result<Response<Body>, ApiError> {
    let today = Utc::now().date_naive();
    let year = today.year();
    let query = ReportQuery {
        from: NaiveDate::from_ymd_opt(year - 1, 1, 1).expect("a valid date"),
        to: today.with_day(1).expect("a first day"),
        by: By::Month,
        csv: false,
        association: None,
    };
    let figures = cells::read(&app.store, &query.months(), None).await?;
    // Pairs that started less than six months ago cannot have lasted six
    // months yet: only older cohorts tell the share.
    let known_cohorts = (today - Months::new(6)).format("%Y-%m").to_string();
    let years: Vec<ImpactYear> = [year, year - 1]
        .into_iter()
        .map(|year| {
            let prefix = format!("{year}-");
            let mut totals = BTreeMap::<&str, i64>::new();
            let (mut lasted, mut ended) = (0, 0);
            for (cell, counts) in &figures.0 {
                if !cell.month.starts_with(&prefix) {
                    continue;
                }
                for (name, count) in counts {
                    *totals.entry(name).or_default() += count;
                }
                if cell.month <= known_cohorts {
                    let get = |name| counts.get(name).copied().unwrap_or(0);
                    lasted += get(metric::PAIRS_LASTED_6_MONTHS);
                    ended += get(metric::PAIRS_ENDED_BEFORE_6_MONTHS);
                }
            }
            let get = |name| totals.get(name).copied().unwrap_or(0);
            ImpactYear {
                year,
                pairs_created: get(metric::PAIRS_ACCEPTED),
                young_people_accompanied: get(metric::REQUESTS_ACKNOWLEDGED),
                share_still_paired_at_6_months: share(lasted, lasted + ended),
            }
        })
        .collect();
    let mut response = http::json(StatusCode::OK, &Impact { years });
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_str(&format!("public, max-age={IMPACT_MAX_AGE_SECONDS}"))
            .expect("a valid header"),
    );
    Ok(response)
}

/// Les chiffres d'impact publics, par année.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Impact {
    pub years: Vec<ImpactYear>,
}

/// Les chiffres d'une année civile.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImpactYear {
    #[schema(example = 2026)]
    pub year: i32,
    /// Binômes acceptés par les deux personnes dans l'année.
    pub pairs_created: i64,
    /// Demandes de jeunes prises en charge par une association dans l'année.
    pub young_people_accompanied: i64,
    /// Part des binômes de l'année encore actifs six mois après leur début, sur ceux commencés il y a plus de six mois (trois décimales) ; `null` tant qu'aucun ne l'est.
    pub share_still_paired_at_6_months: Option<f64>,
}

/// Un tableau de chiffres, de `from` à `to` inclus.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsReport {
    #[schema(example = "2026-01")]
    pub from: String,
    #[schema(example = "2026-12")]
    pub to: String,
    pub by: By,
    /// L'association dont ce sont les chiffres ; `null` pour tout le réseau.
    pub association: Option<String>,
    /// Une ligne par mois, département ou association : la clé de regroupement (`month`, `departement` ou `association` ; `null` pour « non renseigné »), chaque compteur du mois (demandes créées, vérifiées, orientées, déclinées, prises en charge, délais de prise en charge par tranche, mentor·es inscrit·es, binômes proposés, acceptés, refusés, expirés, clos par motif, réponses aux questionnaires — `null` quand trop peu de réponses pour les montrer à une association), `acknowledged_median` (la tranche du délai médian de prise en charge), `acknowledged_within_sla_share` (part prise en charge dans le délai) et, hors regroupement par mois, les chiffres du moment et `waiting_per_free_place`.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    /// Les chiffres du moment : jeunes en attente dans un vivier ou sans association, places offertes et tenues, binômes actifs.
    pub now: BTreeMap<String, i64>,
    /// Pour le réseau seulement : les lettres dont l'envoi a commencé dans la période.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaigns: Option<Vec<CampaignFigures>>,
}

/// Ce qu'est devenue une lettre d'information envoyée dans la période.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignFigures {
    pub id: String,
    pub subject: String,
    pub started_at: Option<chrono::DateTime<Utc>>,
    pub recipients: u64,
    pub sent: u64,
    pub delivered: u64,
    pub bounced: u64,
    pub complained: u64,
    pub unsubscribed: u64,
}

/// `part / whole`, rounded to three decimals; `None` without a whole.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

/// The rows of a report, each the sum of its cells.
#[derive(Debug, Default)]
pub struct Report {
    by: By,
    rows: BTreeMap<String, BTreeMap<&'static str, i64>>,
    now: BTreeMap<&'static str, i64>,
    campaigns: Option<Vec<CampaignFigures>>,
    /// Survey answers shown only where enough people answered that none
    /// can be told apart (an association knows who its few pairs are).
    hide_few_outcomes: bool,
}

/// The fewest survey answers a row of an association's report shows.
const FEWEST_OUTCOMES_SHOWN: i64 = 5;

/// The metrics that come from the survey's answers.
fn is_outcome(metric: &str) -> bool {
    metric.starts_with("outcome")
}

impl Report {
    pub fn of(query: &ReportQuery, figures: &Figures) -> Self {
        let months = query.months();
        let mut report = Report {
            by: query.by,
            ..Report::default()
        };
        for (cell, counts) in &figures.0 {
            let in_range = cell.month == NOW || months.contains(&cell.month);
            if !in_range {
                continue;
            }
            let key = match query.by {
                By::Month if cell.month == NOW => None,
                By::Month => Some(cell.month.clone()),
                By::Departement => Some(cell.departement.clone()),
                By::Association => Some(cell.association.clone()),
            };
            for (name, count) in counts {
                if cell.month == NOW {
                    *report.now.entry(name).or_default() += count;
                }
                if let Some(key) = &key {
                    *report
                        .rows
                        .entry(key.clone())
                        .or_default()
                        .entry(name)
                        .or_default() += count;
                }
            }
        }
        if query.by == By::Month {
            for month in months {
                report.rows.entry(month).or_default();
            }
        }
        report
    }

    fn columns(&self) -> Vec<&'static str> {
        let mut columns = metric::monthly();
        if self.by != By::Month {
            columns.extend(metric::NOW);
        }
        columns
    }

    /// One row as JSON: its key, its counts, what is read from them.
    fn row(&self, key: &str, counts: &BTreeMap<&'static str, i64>) -> Map<String, Value> {
        let by = self.by;
        let mut row = Map::new();
        let key = (key != NONE).then(|| Value::from(key));
        row.insert(by.as_str().into(), key.unwrap_or(Value::Null));
        let get = |name: &str| counts.get(name).copied().unwrap_or(0);
        let answers = get(metric::OUTCOMES_MENTEE) + get(metric::OUTCOMES_MENTOR);
        let hidden = self.hide_few_outcomes && answers < FEWEST_OUTCOMES_SHOWN;
        for column in self.columns() {
            let value = if hidden && is_outcome(column) {
                Value::Null
            } else {
                get(column).into()
            };
            row.insert(column.into(), value);
        }
        let acknowledged = get(metric::REQUESTS_ACKNOWLEDGED);
        row.insert(
            "acknowledged_median".into(),
            median_bucket(counts).map_or(Value::Null, Value::from),
        );
        row.insert(
            "acknowledged_within_sla_share".into(),
            share(get(metric::ACKNOWLEDGED_WITHIN_SLA), acknowledged).into(),
        );
        if by != By::Month {
            let waiting = get(metric::MENTEES_WAITING) + get(metric::MENTEES_UNROUTED);
            let free = get(metric::PLACES_OFFERED) - get(metric::PLACES_HELD);
            row.insert(
                "waiting_per_free_place".into(),
                (free > 0)
                    .then(|| (waiting as f64 / free as f64 * 100.0).round() / 100.0)
                    .into(),
            );
        }
        row
    }

    fn respond(&self, query: &ReportQuery) -> Response<Body> {
        if query.csv {
            return self.csv();
        }
        let rows = self
            .rows
            .iter()
            .map(|(key, counts)| self.row(key, counts))
            .collect();
        let answer = StatsReport {
            from: query.from.format("%Y-%m").to_string(),
            to: query.to.format("%Y-%m").to_string(),
            by: query.by,
            association: query.association.clone(),
            rows,
            now: metric::NOW
                .iter()
                .map(|name| (name.to_string(), self.now.get(name).copied().unwrap_or(0)))
                .collect(),
            campaigns: self.campaigns.clone(),
        };
        http::json(StatusCode::OK, &answer)
    }

    fn csv(&self) -> Response<Body> {
        let by = self.by;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec![by.as_str()];
        header.extend(self.columns());
        header.extend(["acknowledged_median", "acknowledged_within_sla_share"]);
        if by != By::Month {
            header.push("waiting_per_free_place");
        }
        let written: Result<(), csv::Error> = (|| {
            writer.write_record(&header)?;
            for (key, counts) in &self.rows {
                let row = self.row(key, counts);
                writer.write_record(header.iter().map(|column| match &row[*column] {
                    Value::Null => String::new(),
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                }))?;
            }
            Ok(())
        })();
        let body = written
            .ok()
            .and_then(|()| writer.into_inner().ok())
            .unwrap_or_default();
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"binome-chiffres.csv\"",
            )
            .body(Body::from(body))
            .expect("a valid response")
    }
}

/// The bucket of time to acknowledgement the median request falls in.
fn median_bucket(counts: &BTreeMap<&'static str, i64>) -> Option<&'static str> {
    let get = |name: &str| counts.get(name).copied().unwrap_or(0);
    let total: i64 = metric::ACKNOWLEDGED_IN
        .iter()
        .map(|(name, _)| get(name))
        .sum();
    let mut seen = 0;
    metric::ACKNOWLEDGED_IN.iter().find_map(|(name, _)| {
        seen += get(name);
        (total > 0 && 2 * seen >= total).then_some(*name)
    })
}

/// The issues whose sending started in the range, with their counts.
#[tracing::instrument(skip_all)]
async fn campaigns(app: &Stats, query: &ReportQuery) -> Result<Vec<CampaignFigures>, StoreError> {
    let after = query.to + Months::new(1);
    let listed = shared::store::query_all(
        app.store
            .client
            .query()
            .table_name(&app.store.table)
            .index_name(index::BY_LIST)
            .key_condition_expression("list_pk = :issues AND list_sk BETWEEN :from AND :to")
            .expression_attribute_values(":issues", AttributeValue::S(index::ISSUES_LIST.into()))
            .expression_attribute_values(":from", AttributeValue::S(query.from.to_string()))
            .expression_attribute_values(":to", AttributeValue::S(after.to_string()))
            .projection_expression("id"),
    )
    .await?;
    let mut campaigns = Vec::new();
    for item in listed {
        let Some(id) = item.get("id").and_then(|v| v.as_s().ok()) else {
            continue;
        };
        let Some(campaign) = campaign_store::load(&app.store, id).await? else {
            continue;
        };
        let counts = campaign_store::counts(&app.store, &campaign).await?;
        campaigns.push(CampaignFigures {
            id: campaign.id,
            subject: campaign.subject,
            started_at: campaign.started_at,
            recipients: counts.recipients,
            sent: counts.sent,
            delivered: counts.delivered,
            bounced: counts.bounced,
            complained: counts.complained,
            unsubscribed: counts.unsubscribed,
        });
    }
    Ok(campaigns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Cell;

    fn query(by: By) -> ReportQuery {
        ReportQuery {
            from: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            by,
            csv: false,
            association: Some("tremplin-93".into()),
        }
    }

    fn figures(outcomes: i64) -> Figures {
        let mut figures = Figures::default();
        let cell = |month: &str| Cell {
            month: month.into(),
            association: "tremplin-93".into(),
            departement: "93".into(),
        };
        figures.add(&cell("2026-10"), metric::OUTCOMES_MENTEE, outcomes);
        figures.add(
            &cell("2026-10"),
            metric::OUTCOMES_HELPED_TOTAL,
            4 * outcomes,
        );
        figures.add(&cell("2026-10"), metric::REQUESTS_ROUTED, 12);
        figures.add(&cell(NOW), metric::PLACES_OFFERED, 4);
        figures
    }

    #[test]
    fn an_association_sees_survey_answers_only_where_several_answered() {
        let rows = |outcomes| {
            let mut report = Report::of(&query(By::Month), &figures(outcomes));
            report.hide_few_outcomes = true;
            let october = &report.rows["2026-10"];
            report.row("2026-10", october)
        };
        let few = rows(2);
        assert_eq!(few[metric::OUTCOMES_MENTEE], Value::Null);
        assert_eq!(few[metric::OUTCOMES_HELPED_TOTAL], Value::Null);
        assert_eq!(few[metric::REQUESTS_ROUTED], 12, "the rest is shown");
        let several = rows(5);
        assert_eq!(several[metric::OUTCOMES_HELPED_TOTAL], 20);
    }

    #[test]
    fn months_without_figures_are_rows_of_zeros_and_the_present_is_apart() {
        let report = Report::of(&query(By::Month), &figures(1));
        assert_eq!(report.rows.len(), 2, "October and November");
        assert_eq!(report.rows["2026-11"].len(), 0);
        assert_eq!(report.now[metric::PLACES_OFFERED], 4);
        let by_place = Report::of(&query(By::Departement), &figures(1));
        let row = by_place.row("93", &by_place.rows["93"]);
        assert_eq!(
            row[metric::PLACES_OFFERED],
            4,
            "the present beside the months"
        );
        assert_eq!(row["waiting_per_free_place"], 0.0);
    }
}
