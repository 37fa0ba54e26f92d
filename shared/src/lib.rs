//! What two binome functions or more use. Each module owns one concern:
//! configuration, telemetry, storage (table, keys), mail, link tokens, HTTP.

pub mod aws;
pub mod campaign;
pub mod campaign_store;
pub mod config;
pub mod consent;
pub mod criteria;
pub mod directory;
pub mod email;
pub mod erasure;
pub mod http;
pub mod journal;
pub mod keyring;
pub mod links;
pub mod mail;
pub mod outcome;
pub mod pages;
pub mod pair;
pub mod pair_store;
pub mod pending;
pub mod people;
pub mod phone;
pub mod place;
pub mod retention;
pub mod site;
pub mod staff;
pub mod store;
pub mod stream;
pub mod subject;
pub mod telemetry;
pub mod tokens;
