//! RFC 9457 problem details, the body of every 4xx/5xx answer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `application/problem+json`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type", default = "about_blank")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    /// One entry per failing field (422 and field-level 400s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

/// A failing field: `pointer` is a JSON Pointer into the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub pointer: String,
    pub message: String,
}
