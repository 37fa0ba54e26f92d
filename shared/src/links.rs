//! Absolute links for people: to this API (in mails) and to the public site.

use crate::config::Env;

/// Where people are sent: this API (links in mails) and the public site (forms).
#[derive(Debug, Clone)]
pub struct Links {
    public_base_url: String,
    site_url: String,
}

impl Links {
    pub fn new(public_base_url: &str, site_url: &str) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            site_url: site_url.trim_end_matches('/').to_owned(),
        }
    }

    /// `PUBLIC_BASE_URL` (this API, as seen from a mail) and `SITE_URL`.
    pub fn from_env(env: &mut Env) -> Self {
        let public_base_url: Option<url::Url> = env.parsed("PUBLIC_BASE_URL");
        let site_url: Option<url::Url> = env.parsed("SITE_URL");
        Self::new(
            public_base_url.as_ref().map_or("", url::Url::as_str),
            site_url.as_ref().map_or("", url::Url::as_str),
        )
    }

    pub fn api(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_base_url)
    }

    /// A page of the public site.
    pub fn site(&self, path: &str) -> String {
        format!("{}{path}", self.site_url)
    }
}
