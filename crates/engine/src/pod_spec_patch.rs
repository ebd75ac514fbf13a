//! `podSpecPatch` (workflow and template level): a patch of the pod spec. On one machine the
//! only part that means nothing is container `resources` (requests and limits), which Argo's
//! own examples patch; a patch of anything else would change what runs, so it is refused.

use serde_yaml::Value;

use crate::error::EngineError;

/// Checks that the patch at `path` only sets `containers[].resources` (by `name`).
pub fn check(path: &str, patch: &str) -> Result<(), EngineError> {
    // Template tags may stand where a value goes, unquoted (`"limits": {{inputs.…}}`).
    let readable = mask_tags(patch);
    let value: Value = serde_yaml::from_str(&readable).map_err(|e| {
        EngineError::unsupported(
            path,
            format!("the patch is not YAML or JSON the engine reads: {e}"),
        )
    })?;
    let refuse = |what: &str| {
        EngineError::unsupported(
            path,
            format!(
                "the patch sets `{what}`: on the local engine a podSpecPatch may only set \
                 containers[].resources, which have no meaning on one machine"
            ),
        )
    };
    let Value::Mapping(top) = &value else {
        return Err(refuse("a non-object"));
    };
    for (key, containers) in top {
        if key.as_str() != Some("containers") {
            return Err(refuse(key.as_str().unwrap_or("?")));
        }
        let Value::Sequence(list) = containers else {
            return Err(refuse("containers"));
        };
        for c in list {
            let Value::Mapping(fields) = c else {
                return Err(refuse("containers[]"));
            };
            if let Some(other) = fields
                .keys()
                .filter_map(Value::as_str)
                .find(|k| !matches!(*k, "name" | "resources"))
            {
                return Err(refuse(&format!("containers[].{other}")));
            }
        }
    }
    Ok(())
}

/// Replaces every `{{…}}` tag by `0`, a value that keeps the document's shape.
fn mask_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push('0');
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_pass_and_anything_else_is_refused() {
        let ok =
            r#"{"containers":[{"name":"main", "resources":{"limits": {{inputs.parameters.r}}}}]}"#;
        assert!(check("spec.podSpecPatch", ok).is_ok());
        let yaml = "containers:\n  - name: main\n    resources:\n      limits:\n        memory: \"{{workflow.parameters.mem}}\"\n";
        assert!(check("spec.podSpecPatch", yaml).is_ok());
        let env = r#"{"containers":[{"name":"main","env":[{"name":"A","value":"1"}]}]}"#;
        let e = check("spec.podSpecPatch", env).unwrap_err().to_string();
        assert!(e.contains("containers[].env"), "{e}");
        let host = "hostNetwork: true";
        assert!(check("spec.podSpecPatch", host)
            .unwrap_err()
            .to_string()
            .contains("hostNetwork"));
    }
}
