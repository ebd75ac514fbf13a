//! Argo's API contract for the double: the definitions and routes of `swagger.json`
//! (`third_party/argo-api/`) as compiled validators.
//!
//! Swagger 2.0 quirks: definitions are draft-4 schemas (a `$ref`'s siblings are ignored), so
//! they are compiled as draft 4 inside a root `{"$ref": "#/definitions/X", "definitions": …}`.
//! `format: date-time` is checked; `int32`/`int64`/`uint64`/`byte` are unknown to JSON Schema
//! and left as annotations (Kubernetes' JSON encodes those integers as numbers, which `type:
//! integer` checks). `IntOrString` is declared `type: string`, but Kubernetes' decoder takes an
//! integer too (`retryStrategy.limit: 2`), so the double accepts both there.

use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Argo's API documents as compiled validators, one per definition used.
pub struct Contract {
    swagger: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Contract {
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../third_party/argo-api/swagger.json"
            );
            let text = std::fs::read_to_string(path).expect("third_party/argo-api/swagger.json");
            let mut swagger: Value = serde_json::from_str(&text).expect("swagger is JSON");
            swagger["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] =
                json!({"type": ["integer", "string"]});
            Contract {
                swagger,
                validators: Mutex::new(HashMap::new()),
            }
        })
    }

    fn validator(&self, key: &str, schema: Value) -> Arc<Validator> {
        let mut validators = self.validators.lock().expect("validators");
        validators
            .entry(key.to_owned())
            .or_insert_with(|| {
                let mut root = schema;
                root["definitions"] = self.swagger["definitions"].clone();
                Arc::new(
                    jsonschema::draft4::options()
                        .should_validate_formats(true)
                        .build(&root)
                        .expect("swagger definitions compile"),
                )
            })
            .clone()
    }

    /// Errors of `instance` against definition `name` (empty when it conforms).
    pub fn check(&self, name: &str, instance: &Value) -> Vec<String> {
        assert!(
            self.swagger["definitions"].get(name).is_some(),
            "swagger.json has no definition {name}"
        );
        let validator = self.validator(name, json!({"$ref": format!("#/definitions/{name}")}));
        errors(&validator, instance, name)
    }

    /// Errors of `instance` against the 200 response schema of `method path` (an inline schema
    /// for streamed routes such as the log).
    pub fn check_response(&self, path: &str, method: &str, instance: &Value) -> Vec<String> {
        let schema = self.swagger["paths"][path][method]["responses"]["200"]["schema"].clone();
        assert!(!schema.is_null(), "swagger.json has no {method} {path}");
        let validator = self.validator(&format!("{method} {path}"), schema);
        errors(&validator, instance, &format!("{method} {path} answer"))
    }

    /// Query parameter names the route does not declare.
    pub fn undeclared_query(&self, path: &str, method: &str, names: &[String]) -> Vec<String> {
        let declared: Vec<&str> = self.swagger["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        names
            .iter()
            .filter(|name| !declared.contains(&name.as_str()))
            .map(|name| format!("{method} {path}: query parameter {name} is not in swagger.json"))
            .collect()
    }
}

fn errors(validator: &Validator, instance: &Value, what: &str) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{what}: {} at {}", e, e.instance_path()))
        .collect()
}
