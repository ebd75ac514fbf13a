//! The one rule for text both stores can hold. PostgreSQL refuses the NUL character in `text`
//! columns and as `\u0000` anywhere in `jsonb` (SQLite takes both), and neither holds invalid
//! UTF-8 (which a `String` cannot carry anyway). So client input holding NUL is refused at the
//! edge, naming the field, and text Polyphemus did not write itself (orchestrator status, step
//! logs) has each NUL replaced with U+FFFD before it is stored: either way, the two stores
//! behave alike and no write fails halfway for a character.

use crate::FieldError;
use serde_json::Value;
use std::borrow::Cow;

/// What a refused field is told.
pub const NUL_REFUSED: &str = "must not contain the NUL character (U+0000)";

/// Whether both stores can hold `text`.
pub fn is_storable(text: &str) -> bool {
    !text.contains('\0')
}

/// `text` with every NUL replaced by U+FFFD, borrowed when there is none.
pub fn scrub(text: &str) -> Cow<'_, str> {
    if is_storable(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    }
}

/// [`scrub`] for an owned string, reusing it when there is nothing to replace.
pub fn scrub_owned(text: String) -> String {
    if is_storable(&text) {
        text
    } else {
        text.replace('\0', "\u{FFFD}")
    }
}

/// Replaces NUL in every string and object key of `value`, however deep.
pub fn scrub_json(value: &mut Value) {
    match value {
        Value::String(text) => {
            if !is_storable(text) {
                *text = text.replace('\0', "\u{FFFD}");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        Value::Object(map) => {
            if map.keys().any(|key| !is_storable(key)) {
                let entries = std::mem::take(map);
                *map = entries
                    .into_iter()
                    .map(|(key, value)| (scrub_owned(key), value))
                    .collect();
            }
            map.values_mut().for_each(scrub_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The JSON Pointer (under `prefix`) of the first string or key in `value` holding NUL.
pub fn find_unstorable(value: &Value, prefix: &str) -> Option<String> {
    match value {
        Value::String(text) => (!is_storable(text)).then(|| prefix.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| find_unstorable(item, &format!("{prefix}/{index}"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let pointer = format!("{prefix}/{}", pointer_token(key));
            if is_storable(key) {
                find_unstorable(item, &pointer)
            } else {
                Some(pointer)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// The field error for text refused at `pointer`.
pub fn nul_refused(pointer: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        message: NUL_REFUSED.to_owned(),
    }
}

/// One reference token of a JSON Pointer (RFC 6901); a NUL in it is shown as U+FFFD, so the
/// answer that refuses a key does not carry the character itself.
fn pointer_token(key: &str) -> String {
    scrub(key).replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_nul_is_found_with_its_pointer() {
        let value = json!({"a": {"b": [1, "ok", {"c/d": "x\u{0}"}]}});
        assert_eq!(
            find_unstorable(&value, "/state").as_deref(),
            Some("/state/a/b/2/c~1d")
        );
        assert_eq!(find_unstorable(&json!({"k": ["fine"]}), ""), None);
        assert_eq!(
            find_unstorable(&json!({"k\u{0}": 1}), "").as_deref(),
            Some("/k\u{FFFD}")
        );
    }

    #[test]
    fn scrubbing_replaces_nul_in_strings_and_keys() {
        let mut value = json!({"m\u{0}": ["a\u{0}b", {"n": "\u{0}"}]});
        scrub_json(&mut value);
        assert_eq!(
            value,
            json!({"m\u{FFFD}": ["a\u{FFFD}b", {"n": "\u{FFFD}"}]})
        );
        assert_eq!(scrub("plain"), Cow::Borrowed("plain"));
        assert_eq!(scrub_owned("a\u{0}".into()), "a\u{FFFD}");
    }
}
