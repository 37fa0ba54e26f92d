//! The crate's routes in the API contract (OpenAPI 3.1), merged with the other
//! functions' into `/v1/openapi.json`.

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        crate::request_run,
        crate::list_runs,
        crate::show_run,
        crate::approve_drafts,
        crate::reject_drafts,
        crate::suggestions,
        crate::propose,
        crate::list_pairs,
        crate::export_pairs,
        crate::pool,
        crate::close,
        crate::programme::set_length,
        crate::answer_page,
        crate::answer,
        crate::check_in_page,
        crate::check_in_answer,
        crate::survey_page,
        crate::survey_answer,
        crate::programme::page,
        crate::programme::answer
    ),
    components(schemas(
        crate::ProposalAnswer,
        PairCloseReason,
        shared::pair::PairStatus,
        shared::pair::CheckInAnswer,
        shared::pair::GoingOn
    )),
    tags(
        (
            name = "binomes",
            description = "Les binômes d'une association : les runs d'appariement sur tout son vivier, les meilleurs mentors pour un jeune, les propositions manuelles, le suivi des binômes (points d'étape, binômes à risque), leur clôture et la durée de leur programme."
        ),
        (
            name = "reponses",
            description = "Ce que les jeunes et les mentors répondent depuis les liens de leurs e-mails : accepter ou décliner une proposition, le point d'étape mensuel, le questionnaire des six mois, la fin du programme. Chaque lien porte un jeton signé ; ouvrir un lien n'enregistre rien, seul le bouton de la page le fait. Ces routes répondent par des pages HTML."
        )
    )
)]
pub struct Contract;

/// The reasons an association may give (the schema of
/// `PairCloseBody::reason`, which stays a string so that a wrong one is
/// reported as an invalid field).
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Pourquoi l'association clôt un binôme : `completed` (mentorat mené à son terme), `no_contact` (le contact ne s'est pas fait : le jeune retourne dans le vivier), `moved` (déménagement), `other`."
)]
pub enum PairCloseReason {
    Completed,
    NoContact,
    Moved,
    Other,
}

/// The survey form as `POST /v1/pairs/outcome` reads it
/// (`shared::outcome::OutcomeAnswers::parse_form`).
#[derive(Debug, Clone, utoipa::ToSchema)]
#[schema(
    description = "Les réponses au questionnaire des six mois, envoyées par le formulaire de la page."
)]
pub struct OutcomeSurveyForm {
    /// La situation du jeune aujourd'hui ; obligatoire pour le jeune, ignorée pour le mentor.
    pub situation_now: Option<shared::outcome::SituationNow>,
    /// Le mentorat a-t-il aidé ? De 1 (pas du tout) à 5 (beaucoup).
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub helped: u8,
    /// Le recommanderiez-vous à quelqu'un ? `oui` ou `non`.
    #[schema(pattern = "^(oui|non)$", example = "oui")]
    pub recommend: String,
    /// Un commentaire libre, facultatif (1 000 caractères au plus, sans les espaces autour).
    #[schema(max_length = 1000)]
    pub comment: Option<String>,
}
