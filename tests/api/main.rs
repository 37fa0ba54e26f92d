//! Tests that cross crates: handlers on both emulators, the mailer, the
//! template against the code, and the local stack end to end.

mod burst;
mod campaigns;
mod contract;
mod counters;
mod directory;
mod end_to_end;
mod infra;
mod mail_events;
mod mailer;
mod matching;
mod newsletter;
mod reminders;
mod review;
mod routing;
mod signup;
mod site;
mod spike;
mod staff;
mod stats;
mod views;
