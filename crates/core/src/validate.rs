//! JSON Schema validation with one `FieldError` per failing field, pointed into the request body.

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use polyphemus_model::FieldError;
use serde_json::Value;

/// Compiles a schema (draft 2020-12 unless it says otherwise), checking `format`s too.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|error| error.to_string())
}

/// Validates `instance`; each error's pointer is `prefix` + the failing location. For a missing
/// required property the pointer names the property itself, where the user must add it.
pub fn field_errors(validator: &Validator, instance: &Value, prefix: &str) -> Vec<FieldError> {
    validator
        .iter_errors(instance)
        .map(|error| {
            let mut pointer = format!("{prefix}{}", error.instance_path());
            if let ValidationErrorKind::Required { property } = error.kind() {
                if let Some(name) = property.as_str() {
                    pointer.push('/');
                    pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                }
            }
            FieldError {
                pointer,
                message: error.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_failing_field_is_reported_with_its_pointer() {
        let schema = json!({
            "type": "object",
            "required": ["host"],
            "properties": {"port": {"type": "integer"}, "host": {"type": "string"}}
        });
        let validator = compile(&schema).expect("schema compiles");
        let errors = field_errors(&validator, &json!({"port": "22"}), "/config");
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert!(pointers.contains(&"/config/host"), "{pointers:?}");
        assert!(pointers.contains(&"/config/port"), "{pointers:?}");
        assert!(errors
            .iter()
            .any(|e| e.message.contains("\"host\" is a required property")));
    }
}
