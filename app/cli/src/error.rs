//! Errors a person can act on: what failed, the decoded program error and what to do, and the
//! program's own log lines.

use keel_client::view::ViewError;
use keel_client::SendError;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The command line or an input file is wrong.
    Usage(String),
    /// Reading the chain failed, or what is there is not what the command needs.
    Chain(String),
    /// A transaction was rejected or did not reach the chain.
    Send {
        /// What was being done (`deposit`).
        what: String,
        /// The error.
        error: SendError,
    },
    /// The command refuses to go on (a trade file that is not what it says, a verification
    /// that failed).
    Refused(String),
}

impl CliError {
    /// A send error for `what`.
    pub fn send(what: &str, error: SendError) -> CliError {
        CliError::Send {
            what: what.to_string(),
            error,
        }
    }

    /// The process exit code: 2 usage, 3 refused, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Refused(_) => 3,
            _ => 1,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Chain(m) | CliError::Refused(m) => f.write_str(m),
            CliError::Send { what, error } => write!(
                f,
                "{what} failed: {}",
                keel_migrations::bootstrap::describe_send(error)
            ),
        }
    }
}

impl std::error::Error for CliError {}

impl From<ViewError> for CliError {
    fn from(e: ViewError) -> Self {
        CliError::Chain(match e {
            ViewError::NoExchange => {
                format!("{e}: is --url the right cluster? (`keel bootstrap` creates the exchange)")
            }
            ViewError::MissingMarket(k) => format!(
                "{e}: if market {k} accepts any update of its feed and the feed has no sponsored \
                 price account on this cluster, name one with --oracle {k}=ACCOUNT"
            ),
            other => other.to_string(),
        })
    }
}

impl From<keel_client::ChainError> for CliError {
    fn from(e: keel_client::ChainError) -> Self {
        CliError::Chain(format!("reading the chain: {e}"))
    }
}

/// Result of a command.
pub type CliResult<T> = Result<T, CliError>;
