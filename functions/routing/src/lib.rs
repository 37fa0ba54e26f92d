//! Routing: every verified request goes to the most relevant association,
//! with its reasons. The rules are a pure function over plain data
//! (`rules`); the handlers that feed them from the table come next.

pub mod rules;
