//! Configuration from the environment. A function reads everything it needs at
//! start and fails there, naming every missing or invalid variable at once.

use std::{fmt, str::FromStr};

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Collects variables and the problems met while reading them.
pub struct Env {
    lookup: Lookup,
    problems: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl Env {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            problems: Vec::new(),
        }
    }

    /// A variable that may be absent; blank counts as absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// A variable that must be set; an empty string stands in until `finish`
    /// reports it.
    pub fn required(&mut self, name: &str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.problems.push(format!("{name} is not set"));
            String::new()
        })
    }

    /// A variable parsed into `T`, or `default` when absent.
    pub fn parsed_or<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.optional(name) {
            None => default,
            Some(raw) => raw.trim().parse().unwrap_or_else(|error| {
                self.problems.push(format!("{name} is invalid: {error}"));
                default
            }),
        }
    }

    /// A required variable parsed into `T`.
    pub fn parsed<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let Some(raw) = self.optional(name) else {
            self.problems.push(format!("{name} is not set"));
            return None;
        };
        match raw.trim().parse() {
            Ok(value) => Some(value),
            Err(error) => {
                self.problems.push(format!("{name} is invalid: {error}"));
                None
            }
        }
    }

    /// A variable that parsed but is out of its range.
    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Ends the reading: `value` if every variable was fine, else every problem.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value())
        } else {
            Err(ConfigError(self.problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env {
        Env::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn every_missing_or_invalid_variable_is_named_at_once() {
        let mut env = env(&[("RATE", "fast"), ("BLANK", " ")]);
        env.required("TABLE_NAME");
        env.required("BLANK");
        env.parsed_or::<u32>("RATE", 10);
        let error = env.finish(|| ()).unwrap_err().to_string();
        assert!(error.contains("TABLE_NAME is not set"), "{error}");
        assert!(error.contains("BLANK is not set"), "{error}");
        assert!(error.contains("RATE is invalid"), "{error}");
    }

    #[test]
    fn present_variables_and_defaults_are_read() {
        let mut env = env(&[("TABLE_NAME", "binome")]);
        let table = env.required("TABLE_NAME");
        let rate = env.parsed_or::<u32>("RATE", 10);
        assert_eq!(env.finish(|| (table, rate)).unwrap(), ("binome".into(), 10));
    }
}
