//! What each mail says. A mail is a variant of [`MailContent`] with its
//! parameters; it renders through two templates (text and HTML, the HTML one
//! escaped by askama) under `shared/templates/mail/`.

use serde::{Deserialize, Serialize};

use crate::people::Role;

/// SES configuration set a mail goes through: transactional mails and the
/// newsletter have separate reputations and event destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailCategory {
    Transactional,
    Newsletter,
}

/// Every mail binome sends, stored in outbox items as `{template, params}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "template", content = "params", rename_all = "snake_case")]
pub enum MailContent {
    NewsletterConfirmation {
        confirm_url: String,
    },
    NewsletterWelcome {
        unsubscribe_url: String,
    },
    /// An issue of the newsletter sent as a test to an admin's addresses
    /// (a campaign's readers get theirs from the campaign sender, not the outbox).
    NewsletterIssueTest {
        campaign: String,
        subject: String,
        #[serde(default)]
        preheader: Option<String>,
        body_markdown: String,
        web_url: String,
    },
    SignupVerification {
        role: Role,
        first_name: String,
        verify_url: String,
    },
    /// The same address signed up again in the same role: no second profile.
    SignupAlreadyRequested {
        role: Role,
        verify_url: String,
        /// « Où en est ma demande ? » (absent from mails queued before it existed).
        #[serde(default)]
        status_url: String,
    },
    GuardianConsentRequest {
        guardian_name: String,
        mentee_first_name: String,
        consent_url: String,
    },
    PersonalDataAccess {
        /// « Où en est ma demande ? » (absent from mails queued before it existed).
        #[serde(default)]
        status_url: String,
        export_url: String,
        erase_url: String,
    },
    /// To the person: which association received their request.
    RequestForwarded {
        role: Role,
        first_name: String,
        association_name: String,
        /// The association's answer time; the request moves on after twice it.
        #[serde(default = "default_sla_days")]
        sla_days: u32,
    },
    /// To the person: no association can take the request for now.
    RequestWaiting {
        role: Role,
        first_name: String,
    },
    /// To an association: new requests (one, or a daily digest), or a
    /// reminder of unanswered ones.
    AssociationRequests {
        association_name: String,
        requests: Vec<RequestSummary>,
        /// `Some(sla_days)` for a reminder.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reminder_after_days: Option<u32>,
    },
    /// To the network admins: the requests no association could take today.
    WaitingDigest {
        requests: Vec<RequestSummary>,
    },
    /// To a mentee or a mentor: a proposed pair, why, and where to answer.
    PairProposed {
        role: Role,
        first_name: String,
        association_name: String,
        /// The other person, without name or contact detail.
        about_other: String,
        reasons: Vec<String>,
        answer_url: String,
    },
    /// To each of a pair both accepted: the other's contact details.
    PairStarted {
        role: Role,
        first_name: String,
        other_name: String,
        other_email: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other_phone: Option<String>,
        /// The first check-in (DD/MM/YYYY).
        first_check_in: String,
    },
    /// To the one who accepted (or had not answered) when the other declined.
    PairNotGoingAhead {
        role: Role,
        first_name: String,
    },
    /// To each of an active pair, three weeks in.
    /// The monthly check-in of an active pair, with its four answers.
    PairCheckIn {
        role: Role,
        first_name: String,
        association_name: String,
        round: u32,
        answers: Vec<AnswerLink>,
    },
    /// To the side that has not answered a proposal after five days.
    PairAnswerReminder {
        role: Role,
        first_name: String,
        association_name: String,
        answer_url: String,
    },
    /// 48 hours after a sign-up whose address is not confirmed yet.
    SignupVerificationReminder {
        role: Role,
        first_name: String,
        verify_url: String,
    },
    /// 72 hours after a mentee's sign-up, to a guardian who has not answered.
    GuardianConsentReminder {
        guardian_name: String,
        mentee_first_name: String,
        consent_url: String,
    },
    /// To the young person: their guardian was reminded.
    GuardianReminded {
        first_name: String,
    },
    /// To the young person: their guardian refused; the request stops.
    GuardianRefused {
        first_name: String,
    },
    /// Six months in: what the mentoring led to.
    OutcomeSurvey {
        role: Role,
        first_name: String,
        association_name: String,
        survey_url: String,
    },
    /// To an association: a proposal nobody answered in time has ended.
    ProposalExpired {
        association_name: String,
        pair_id: String,
    },
    /// Two weeks before the programme ends: do they go on?
    ProgrammeEnding {
        role: Role,
        first_name: String,
        association_name: String,
        /// `DD/MM/YYYY`
        ends_on: String,
        answers: Vec<AnswerLink>,
    },
    /// To an association: a pair's programme ends; close it or extend it.
    ProgrammeEndingAssociation {
        association_name: String,
        pair_id: String,
        ends_on: String,
    },
    /// A month before an idle account is erased, with the link to keep it.
    RetentionWarning {
        first_name: String,
        /// `DD/MM/YYYY`
        erased_on: String,
        keep_url: String,
    },
    /// To each of a pair its association closed: it is over, and what next.
    PairClosed {
        role: Role,
        first_name: String,
        association_name: String,
        /// The mentee goes back to the association's pool (paired again).
        paired_again: bool,
        /// Where a young person asks for a new mentor.
        new_request_url: String,
    },
    /// To someone invited to an association's space, with their first sign-in link.
    StaffInvitation {
        name: String,
        association_name: String,
        /// Who invited them (a colleague's name, or the network's team).
        invited_by: String,
        sign_in_url: String,
    },
    /// A sign-in link to the staff space, asked for on the sign-in page.
    StaffSignIn {
        name: String,
        sign_in_url: String,
    },
}

fn default_sla_days() -> u32 {
    7
}

/// One answer of a mail, as a link to the page that records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerLink {
    pub label: String,
    pub url: String,
}

/// A request as listed in a mail to an association or to the admins: no
/// name, no contact detail (those are behind the association's key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub role: Role,
    pub departement: String,
    /// The date it was routed, or has waited since (YYYY-MM-DD).
    pub since: String,
    pub url: String,
    /// Mails to the person bounce or were reported as spam: call them.
    #[serde(default)]
    pub unreachable: bool,
}

impl RequestSummary {
    pub fn who(&self) -> &'static str {
        match self.role {
            Role::Mentee => "Jeune",
            Role::Mentor => "Mentor",
        }
    }
}

/// A mail ready to be put in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub category: MailCategory,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// RFC 8058 one-click unsubscribe URL; every newsletter mail to a reader has one.
    pub unsubscribe_url: Option<String>,
    /// The newsletter issue it belongs to: tagged on the send, so that the
    /// mail service's events (delivery, bounce, complaint) count on it.
    pub campaign: Option<String>,
}

/// One reader's copy of an issue.
#[derive(Debug, Clone, Copy)]
pub struct IssueMail<'a> {
    pub campaign: &'a str,
    pub subject: &'a str,
    pub preheader: Option<&'a str>,
    pub web_url: &'a str,
    /// `None` for a test send: the addresses are not readers.
    pub unsubscribe_url: Option<&'a str>,
}

impl IssueMail<'_> {
    /// The mail around a body rendered once for the whole campaign.
    pub fn render(&self, body: &crate::campaign::Body) -> Result<RenderedMail, askama::Error> {
        let (text, html) = newsletter_issue::render(
            self.preheader.unwrap_or_default(),
            body,
            self.web_url,
            self.unsubscribe_url.unwrap_or_default(),
        )?;
        let subject = match self.unsubscribe_url {
            Some(_) => self.subject.to_owned(),
            None => format!("[TEST] {}", self.subject),
        };
        Ok(RenderedMail {
            category: MailCategory::Newsletter,
            subject,
            text,
            html,
            unsubscribe_url: self.unsubscribe_url.map(str::to_owned),
            // A test's deliveries and bounces do not count on the issue.
            campaign: self.unsubscribe_url.map(|_| self.campaign.to_owned()),
        })
    }
}

/// Declares the text and HTML templates of one mail, with the same fields,
/// and a `render` giving both parts.
macro_rules! mail_template {
    ($name:ident, $text:literal, $html:literal, { $($field:ident: $type:ty),* $(,)? }) => {
        mod $name {
            use askama::Template;

            #[derive(Template)]
            #[template(path = $text)]
            struct Text<'a> {
                $($field: $type,)*
            }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> {
                $($field: $type,)*
            }

            /// (text, html)
            pub fn render<'a>($($field: $type),*) -> Result<(String, String), askama::Error> {
                let text = Text { $($field,)* }.render()?;
                let html = Html { $($field,)* }.render()?;
                Ok((text, html))
            }
        }
    };
}

mail_template!(
    newsletter_confirmation,
    "mail/newsletter_confirmation.txt",
    "mail/newsletter_confirmation.html",
    { confirm_url: &'a str });
mail_template!(
    newsletter_welcome,
    "mail/newsletter_welcome.txt",
    "mail/newsletter_welcome.html",
    { unsubscribe_url: &'a str });
/// An issue's two parts take different bodies (HTML, text) from one source.
mod newsletter_issue {
    use askama::Template;

    #[derive(Template)]
    #[template(path = "mail/newsletter_issue.txt")]
    struct Text<'a> {
        body_text: &'a str,
        web_url: &'a str,
        unsubscribe_url: &'a str,
    }

    #[derive(Template)]
    #[template(path = "mail/newsletter_issue.html")]
    struct Html<'a> {
        preheader: &'a str,
        body_html: &'a str,
        web_url: &'a str,
        unsubscribe_url: &'a str,
    }

    /// (text, html)
    pub fn render(
        preheader: &str,
        body: &crate::campaign::Body,
        web_url: &str,
        unsubscribe_url: &str,
    ) -> Result<(String, String), askama::Error> {
        let text = Text {
            body_text: &body.text,
            web_url,
            unsubscribe_url,
        }
        .render()?;
        let html = Html {
            preheader,
            body_html: &body.html,
            web_url,
            unsubscribe_url,
        }
        .render()?;
        Ok((text, html))
    }
}
mail_template!(
    signup_verification,
    "mail/signup_verification.txt",
    "mail/signup_verification.html",
    { first_name: &'a str, mentor: bool, verify_url: &'a str });
mail_template!(
    signup_already_requested,
    "mail/signup_already_requested.txt",
    "mail/signup_already_requested.html",
    { mentor: bool, verify_url: &'a str, status_url: &'a str });
mail_template!(
    guardian_consent_request,
    "mail/guardian_consent_request.txt",
    "mail/guardian_consent_request.html",
    { guardian_name: &'a str, mentee_first_name: &'a str, consent_url: &'a str });
mail_template!(
    personal_data_access,
    "mail/personal_data_access.txt",
    "mail/personal_data_access.html",
    { status_url: &'a str, export_url: &'a str, erase_url: &'a str });
mail_template!(
    request_forwarded,
    "mail/request_forwarded.txt",
    "mail/request_forwarded.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, sla_days: u32, handed_over_after: u32 });
mail_template!(
    request_waiting,
    "mail/request_waiting.txt",
    "mail/request_waiting.html",
    { first_name: &'a str, mentor: bool });
mail_template!(
    association_requests,
    "mail/association_requests.txt",
    "mail/association_requests.html",
    { association_name: &'a str, requests: &'a [super::RequestSummary], reminder: bool, sla_days: u32 });
mail_template!(
    pair_proposed,
    "mail/pair_proposed.txt",
    "mail/pair_proposed.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, about_other: &'a str, reasons: &'a [String], answer_url: &'a str });
mail_template!(
    pair_started,
    "mail/pair_started.txt",
    "mail/pair_started.html",
    { first_name: &'a str, mentor: bool, other_name: &'a str, other_email: &'a str, other_phone: Option<&'a str>, first_check_in: &'a str });
mail_template!(
    pair_not_going_ahead,
    "mail/pair_not_going_ahead.txt",
    "mail/pair_not_going_ahead.html",
    { first_name: &'a str, mentor: bool });
mail_template!(
    pair_check_in,
    "mail/pair_check_in.txt",
    "mail/pair_check_in.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, first: bool, answers: &'a [super::AnswerLink] });
mail_template!(
    pair_answer_reminder,
    "mail/pair_answer_reminder.txt",
    "mail/pair_answer_reminder.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, answer_url: &'a str });
mail_template!(
    signup_verification_reminder,
    "mail/signup_verification_reminder.txt",
    "mail/signup_verification_reminder.html",
    { first_name: &'a str, mentor: bool, verify_url: &'a str });
mail_template!(
    guardian_consent_reminder,
    "mail/guardian_consent_reminder.txt",
    "mail/guardian_consent_reminder.html",
    { guardian_name: &'a str, mentee_first_name: &'a str, consent_url: &'a str });
mail_template!(
    guardian_reminded,
    "mail/guardian_reminded.txt",
    "mail/guardian_reminded.html",
    { first_name: &'a str });
mail_template!(
    guardian_refused,
    "mail/guardian_refused.txt",
    "mail/guardian_refused.html",
    { first_name: &'a str });
mail_template!(
    outcome_survey,
    "mail/outcome_survey.txt",
    "mail/outcome_survey.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, survey_url: &'a str });
mail_template!(
    proposal_expired,
    "mail/proposal_expired.txt",
    "mail/proposal_expired.html",
    { association_name: &'a str, pair_id: &'a str });
mail_template!(
    programme_ending,
    "mail/programme_ending.txt",
    "mail/programme_ending.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, ends_on: &'a str, answers: &'a [super::AnswerLink] });
mail_template!(
    programme_ending_association,
    "mail/programme_ending_association.txt",
    "mail/programme_ending_association.html",
    { association_name: &'a str, pair_id: &'a str, ends_on: &'a str });
mail_template!(
    pair_closed,
    "mail/pair_closed.txt",
    "mail/pair_closed.html",
    { first_name: &'a str, mentor: bool, association_name: &'a str, paired_again: bool, new_request_url: &'a str });
mail_template!(
    staff_invitation,
    "mail/staff_invitation.txt",
    "mail/staff_invitation.html",
    { name: &'a str, association_name: &'a str, invited_by: &'a str, sign_in_url: &'a str });
mail_template!(
    staff_sign_in,
    "mail/staff_sign_in.txt",
    "mail/staff_sign_in.html",
    { name: &'a str, sign_in_url: &'a str });
mail_template!(
    retention_warning,
    "mail/retention_warning.txt",
    "mail/retention_warning.html",
    { first_name: &'a str, erased_on: &'a str, keep_url: &'a str });
mail_template!(
    waiting_digest,
    "mail/waiting_digest.txt",
    "mail/waiting_digest.html",
    { requests: &'a [super::RequestSummary] });

impl MailContent {
    pub fn render(&self) -> Result<RenderedMail, askama::Error> {
        use MailCategory::{Newsletter, Transactional};
        let (category, subject, (text, html), unsubscribe_url) = match self {
            MailContent::NewsletterConfirmation { confirm_url } => (
                Transactional,
                "Confirmez votre inscription à la lettre de binome".to_owned(),
                newsletter_confirmation::render(confirm_url)?,
                None,
            ),
            MailContent::NewsletterWelcome { unsubscribe_url } => (
                Newsletter,
                "Bienvenue dans la lettre de binome".to_owned(),
                newsletter_welcome::render(unsubscribe_url)?,
                Some(unsubscribe_url.clone()),
            ),
            MailContent::NewsletterIssueTest {
                campaign,
                subject,
                preheader,
                body_markdown,
                web_url,
            } => {
                return IssueMail {
                    campaign,
                    subject,
                    preheader: preheader.as_deref(),
                    web_url,
                    unsubscribe_url: None,
                }
                .render(&crate::campaign::render(body_markdown));
            }
            MailContent::SignupVerification {
                role,
                first_name,
                verify_url,
            } => (
                Transactional,
                "Confirmez votre adresse e-mail".to_owned(),
                signup_verification::render(first_name, *role == Role::Mentor, verify_url)?,
                None,
            ),
            MailContent::SignupAlreadyRequested {
                role,
                verify_url,
                status_url,
            } => (
                Transactional,
                "Vous avez déjà une demande en cours".to_owned(),
                signup_already_requested::render(*role == Role::Mentor, verify_url, status_url)?,
                None,
            ),
            MailContent::GuardianConsentRequest {
                guardian_name,
                mentee_first_name,
                consent_url,
            } => (
                Transactional,
                format!("Votre accord pour le mentorat de {mentee_first_name}"),
                guardian_consent_request::render(guardian_name, mentee_first_name, consent_url)?,
                None,
            ),
            MailContent::PersonalDataAccess {
                status_url,
                export_url,
                erase_url,
            } => (
                Transactional,
                "Votre demande et vos données".to_owned(),
                personal_data_access::render(status_url, export_url, erase_url)?,
                None,
            ),
            MailContent::RequestForwarded {
                role,
                first_name,
                association_name,
                sla_days,
            } => (
                Transactional,
                format!("Votre demande a été transmise à {association_name}"),
                request_forwarded::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    *sla_days,
                    sla_days * 2,
                )?,
                None,
            ),
            MailContent::RequestWaiting { role, first_name } => (
                Transactional,
                "Votre demande est en attente d'une association".to_owned(),
                request_waiting::render(first_name, *role == Role::Mentor)?,
                None,
            ),
            MailContent::AssociationRequests {
                association_name,
                requests,
                reminder_after_days,
            } => (
                Transactional,
                match (reminder_after_days, requests.len()) {
                    (Some(_), _) => "Des demandes attendent votre réponse".to_owned(),
                    (None, 1) => "Une nouvelle demande vous a été transmise".to_owned(),
                    (None, count) => format!("{count} nouvelles demandes vous ont été transmises"),
                },
                association_requests::render(
                    association_name,
                    requests,
                    reminder_after_days.is_some(),
                    reminder_after_days.unwrap_or_default(),
                )?,
                None,
            ),
            MailContent::PairProposed {
                role,
                first_name,
                association_name,
                about_other,
                reasons,
                answer_url,
            } => (
                Transactional,
                "Une proposition de binôme".to_owned(),
                pair_proposed::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    about_other,
                    reasons,
                    answer_url,
                )?,
                None,
            ),
            MailContent::PairStarted {
                role,
                first_name,
                other_name,
                other_email,
                other_phone,
                first_check_in,
            } => (
                Transactional,
                "Votre binôme est formé".to_owned(),
                pair_started::render(
                    first_name,
                    *role == Role::Mentor,
                    other_name,
                    other_email,
                    other_phone.as_deref(),
                    first_check_in,
                )?,
                None,
            ),
            MailContent::PairNotGoingAhead { role, first_name } => (
                Transactional,
                "La proposition de binôme ne se fera pas".to_owned(),
                pair_not_going_ahead::render(first_name, *role == Role::Mentor)?,
                None,
            ),
            MailContent::PairCheckIn {
                role,
                first_name,
                association_name,
                round,
                answers,
            } => (
                Transactional,
                if *round == 1 {
                    "Comment se passent vos premiers échanges ?".to_owned()
                } else {
                    "Où en est votre binôme ?".to_owned()
                },
                pair_check_in::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    *round == 1,
                    answers,
                )?,
                None,
            ),
            MailContent::PairAnswerReminder {
                role,
                first_name,
                association_name,
                answer_url,
            } => (
                Transactional,
                "Une proposition de binôme attend votre réponse".to_owned(),
                pair_answer_reminder::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    answer_url,
                )?,
                None,
            ),
            MailContent::SignupVerificationReminder {
                role,
                first_name,
                verify_url,
            } => (
                Transactional,
                "Rappel : confirmez votre adresse e-mail".to_owned(),
                signup_verification_reminder::render(
                    first_name,
                    *role == Role::Mentor,
                    verify_url,
                )?,
                None,
            ),
            MailContent::GuardianConsentReminder {
                guardian_name,
                mentee_first_name,
                consent_url,
            } => (
                Transactional,
                format!("Rappel : votre accord pour le mentorat de {mentee_first_name}"),
                guardian_consent_reminder::render(guardian_name, mentee_first_name, consent_url)?,
                None,
            ),
            MailContent::GuardianRefused { first_name } => (
                Transactional,
                "Votre demande de mentor ne sera pas transmise".to_owned(),
                guardian_refused::render(first_name)?,
                None,
            ),
            MailContent::GuardianReminded { first_name } => (
                Transactional,
                "Votre demande attend l'accord de votre responsable légal".to_owned(),
                guardian_reminded::render(first_name)?,
                None,
            ),
            MailContent::OutcomeSurvey {
                role,
                first_name,
                association_name,
                survey_url,
            } => (
                Transactional,
                "Six mois de binôme : qu'en avez-vous retiré ?".to_owned(),
                outcome_survey::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    survey_url,
                )?,
                None,
            ),
            MailContent::ProposalExpired {
                association_name,
                pair_id,
            } => (
                Transactional,
                "Une proposition de binôme a expiré sans réponse".to_owned(),
                proposal_expired::render(association_name, pair_id)?,
                None,
            ),
            MailContent::ProgrammeEnding {
                role,
                first_name,
                association_name,
                ends_on,
                answers,
            } => (
                Transactional,
                format!("Votre programme de mentorat se termine le {ends_on}"),
                programme_ending::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    ends_on,
                    answers,
                )?,
                None,
            ),
            MailContent::ProgrammeEndingAssociation {
                association_name,
                pair_id,
                ends_on,
            } => (
                Transactional,
                format!("Le programme d'un binôme se termine le {ends_on}"),
                programme_ending_association::render(association_name, pair_id, ends_on)?,
                None,
            ),
            MailContent::RetentionWarning {
                first_name,
                erased_on,
                keep_url,
            } => (
                Transactional,
                format!("Votre compte binome sera supprimé le {erased_on}"),
                retention_warning::render(first_name, erased_on, keep_url)?,
                None,
            ),
            MailContent::PairClosed {
                role,
                first_name,
                association_name,
                paired_again,
                new_request_url,
            } => (
                Transactional,
                "Votre binôme est clos".to_owned(),
                pair_closed::render(
                    first_name,
                    *role == Role::Mentor,
                    association_name,
                    *paired_again,
                    new_request_url,
                )?,
                None,
            ),
            MailContent::StaffInvitation {
                name,
                association_name,
                invited_by,
                sign_in_url,
            } => (
                Transactional,
                format!("Votre accès à l'espace de {association_name} sur binome"),
                staff_invitation::render(name, association_name, invited_by, sign_in_url)?,
                None,
            ),
            MailContent::StaffSignIn { name, sign_in_url } => (
                Transactional,
                "Votre lien de connexion à binome".to_owned(),
                staff_sign_in::render(name, sign_in_url)?,
                None,
            ),
            MailContent::WaitingDigest { requests } => (
                Transactional,
                match requests.len() {
                    1 => "Une demande en attente d'une association".to_owned(),
                    n => format!("{n} demandes en attente d'une association"),
                },
                waiting_digest::render(requests)?,
                None,
            ),
        };
        Ok(RenderedMail {
            category,
            subject,
            text,
            html,
            unsubscribe_url,
            campaign: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "https://exemple.fr/?t=\"><script>alert(1)</script>";

    #[test]
    fn values_are_escaped_in_html_and_left_alone_in_text() {
        let rendered = MailContent::NewsletterConfirmation {
            confirm_url: HOSTILE.into(),
        }
        .render()
        .unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(
            rendered.html.contains("&#60;script&#62;") || rendered.html.contains("&lt;script&gt;")
        );
        assert!(rendered.text.contains(HOSTILE));
    }

    #[test]
    fn newsletter_mails_carry_an_unsubscribe_link_and_transactional_ones_do_not() {
        let welcome = MailContent::NewsletterWelcome {
            unsubscribe_url: "https://api.exemple.fr/v1/newsletter/unsubscribe?token=t".into(),
        }
        .render()
        .unwrap();
        assert_eq!(welcome.category, MailCategory::Newsletter);
        assert_eq!(
            welcome.unsubscribe_url.as_deref(),
            Some("https://api.exemple.fr/v1/newsletter/unsubscribe?token=t")
        );
        assert!(welcome.html.contains("Se désinscrire"));
        assert!(welcome.text.contains("unsubscribe?token=t"));

        let confirmation = MailContent::NewsletterConfirmation {
            confirm_url: "https://api.exemple.fr/c".into(),
        }
        .render()
        .unwrap();
        assert_eq!(confirmation.category, MailCategory::Transactional);
        assert_eq!(confirmation.unsubscribe_url, None);
    }

    #[test]
    fn a_name_holding_markup_is_escaped_in_the_html_part() {
        let rendered = MailContent::SignupVerification {
            role: Role::Mentee,
            first_name: "<script>alert(1)</script>".into(),
            verify_url: "https://api.binome.example/v1/verify?token=t".into(),
        }
        .render()
        .unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(rendered.text.contains("Bonjour <script>alert(1)</script>,"));
    }

    #[test]
    fn content_is_stored_as_template_and_params() {
        let content = MailContent::NewsletterConfirmation {
            confirm_url: "u".into(),
        };
        let json = serde_json::to_value(&content).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"template": "newsletter_confirmation", "params": {"confirm_url": "u"}})
        );
    }
}
