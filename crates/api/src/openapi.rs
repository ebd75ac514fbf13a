//! What the OpenAPI document says beyond each route's own annotations, applied to every
//! operation at once so no route can forget it: the errors every request can get (401, 403,
//! 400, 404, 413, 415, 500) as `application/problem+json`, and the limits the server enforces on
//! path and query parameters, by name.

use polyphemus_model::{ProjectName, RunId};
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, Ref, RefOr, Schema};
use utoipa::Modify;

/// The media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

pub struct ProblemResponses;

/// The errors any request may get, by status: each is one response of the document's
/// components, which every operation refers to (one copy, not one per operation).
const COMMON_ERRORS: [(&str, &str); 7] = [
    ("400", "malformed path, query or body"),
    ("401", "missing, malformed, expired or revoked bearer token"),
    ("403", "the token lacks the role this needs"),
    ("404", "not found, or not visible to this token"),
    ("413", "body larger than 1 MiB"),
    ("415", "body is not application/json"),
    ("500", "internal error (details only in the server's log)"),
];

fn common_error_name(status: &str) -> String {
    format!("Problem{status}")
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (status, description) in COMMON_ERRORS {
            components.responses.insert(
                common_error_name(status),
                RefOr::T(problem_response(description)),
            );
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_params = path.contains('{');
            for operation in operations(item) {
                document_errors(operation, has_path_params);
                constrain_parameters(operation);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Adds the errors any request may get and makes every error body problem+json.
fn document_errors(operation: &mut Operation, has_path_params: bool) {
    let has_body = operation.request_body.is_some();
    let applies = |status: &str| match status {
        "404" => has_path_params,
        "413" | "415" => has_body,
        _ => true,
    };
    let responses = &mut operation.responses.responses;
    for (status, _) in COMMON_ERRORS.iter().filter(|(status, _)| applies(status)) {
        responses.entry((*status).to_owned()).or_insert_with(|| {
            RefOr::Ref(Ref::new(format!(
                "#/components/responses/{}",
                common_error_name(status)
            )))
        });
    }
    for (status, response) in responses.iter_mut() {
        if !status.starts_with(['4', '5']) {
            continue;
        }
        if let RefOr::T(response) = response {
            as_problem_json(response);
        }
    }
}

fn problem_content() -> Content {
    Content::new(Some(RefOr::<Schema>::Ref(Ref::from_schema_name("Problem"))))
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content())
        .build()
}

/// Error bodies are declared `application/json` by the route annotations; the server sends
/// them as `application/problem+json`.
fn as_problem_json(response: &mut Response) {
    let schema = response
        .content
        .shift_remove("application/json")
        .map(|content| content.schema)
        .unwrap_or(None);
    let content = match schema {
        Some(schema) => Content::new(Some(schema)),
        None => problem_content(),
    };
    response.content.insert(PROBLEM_JSON.to_owned(), content);
}

/// The limits of a path or query parameter, by its name.
fn constrain_parameters(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let limit = match (&parameter.parameter_in, parameter.name.as_str()) {
            (ParameterIn::Path, "project" | "name") | (ParameterIn::Query, "workflow_type") => {
                text(ProjectName::PATTERN, 63)
            }
            (ParameterIn::Path, "run_id") | (ParameterIn::Query, "before_run_id") => {
                text(RunId::PATTERN, 128)
            }
            (ParameterIn::Path, "config_id") | (ParameterIn::Query, "config_id") => {
                integer(1, i64::MAX)
            }
            (ParameterIn::Path, "version_number") => integer(1, i64::from(i32::MAX)),
            (ParameterIn::Query, "limit") => integer(1, 500),
            _ => continue,
        };
        parameter.schema = Some(RefOr::T(limit));
    }
}

fn text(pattern: &str, max_length: usize) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .min_length(Some(1))
            .max_length(Some(max_length))
            .build(),
    )
}

fn integer(minimum: i64, maximum: i64) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(minimum as f64))
            .maximum(Some(maximum as f64))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use polyphemus_model::{CronExpr, ProjectName, RunId, SecretName, WorkflowType};
    use serde_json::json;

    /// Whether `value` matches `pattern` as a JSON Schema validator (a client) reads it.
    fn matches(pattern: &str, value: &str) -> bool {
        let schema = json!({"type": "string", "pattern": pattern});
        jsonschema::validator_for(&schema)
            .expect("pattern compiles")
            .is_valid(&json!(value))
    }

    #[test]
    fn each_pattern_in_the_document_accepts_exactly_what_the_server_parses() {
        let samples = [
            "labors",
            "lab-2_x",
            "",
            "Labors",
            "-x",
            "a/b",
            "a b",
            "3f1c-aa",
            "x.y:z",
            "password",
            "pass word",
            "*/5 * * * *",
            "* * * *",
            "0 3 * * 1-5",
            &"a".repeat(63),
            &"a".repeat(64),
            &"a".repeat(129),
        ];
        for sample in samples {
            let cases = [
                (ProjectName::PATTERN, ProjectName::parse(sample).is_ok()),
                (WorkflowType::PATTERN, WorkflowType::parse(sample).is_ok()),
                (SecretName::PATTERN, SecretName::parse(sample).is_ok()),
                (RunId::PATTERN, RunId::parse(sample).is_ok()),
            ];
            for (pattern, parsed) in cases {
                assert_eq!(matches(pattern, sample), parsed, "{pattern} on {sample:?}");
            }
            // The cron pattern only says five fields; croner checks each field.
            if CronExpr::parse(sample).is_ok() {
                assert!(matches(CronExpr::PATTERN, sample), "{sample:?}");
            }
        }
    }
}
