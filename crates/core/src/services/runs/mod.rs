//! Run rules, one module per part: registration and reach, state and output, orchestrator
//! metadata.

mod find;
mod metadata;
mod registration;
mod state;

pub use metadata::parse_status_report;
pub use state::PreviousStateQuery;
