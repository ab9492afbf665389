//! What a case reports: a failure names the rule that broke and, when a request broke it, the request and the
//! answer.

use std::fmt;

/// One request and its answer, as text for a person (secrets blanked out).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Exchange {
    /// The request line, headers and body.
    pub request: String,
    /// The status line, headers and body.
    pub response: String,
}

/// Why a case failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// What was expected and what happened.
    pub message: String,
    /// The request that broke the rule, and its answer.
    pub exchange: Option<Exchange>,
}

impl Failure {
    /// A failure without a request to show.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exchange: None }
    }

    /// The same failure, with `context` before its message.
    pub fn context(mut self, context: impl fmt::Display) -> Failure {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(exchange) = &self.exchange {
            write!(f, "\n--- request\n{}\n--- answer\n{}", exchange.request, exchange.response)?;
        }
        Ok(())
    }
}

/// The result of a case body.
pub type CaseResult = Result<(), Failure>;

/// Fails the case with a formatted message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::outcome::Failure::new(format!($($message)+)));
        }
    };
}

/// Fails the case unless both sides are equal, showing both.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($message:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err($crate::outcome::Failure::new(format!(
                "{}: expected {:?}, got {:?}",
                format!($($message)+),
                right,
                left
            )));
        }
    }};
}
