//! Loop expansion: `withItems`, `withParam`, `withSequence`, and Argo's loop child names
//! `name(index:item)`.

use serde_json::Value;

use crate::error::EngineError;
use crate::expr::to_text;
use crate::model::{Invocation, Sequence};
use crate::template::Scope;

/// The items of a loop, or `None` when the call is not a loop.
pub fn items(call: &Invocation, scope: &Scope) -> Result<Option<Vec<Value>>, EngineError> {
    if let Some(list) = &call.with_items {
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let mut v = item.clone();
            scope.substitute_value(&mut v)?;
            out.push(v);
        }
        return Ok(Some(out));
    }
    if let Some(p) = &call.with_param {
        let text = scope.substitute(p)?;
        let parsed: Value = serde_json::from_str(text.trim()).map_err(|e| {
            EngineError::Invalid(format!(
                "withParam value could not be parsed as a JSON list: {}: {e}",
                text.trim()
            ))
        })?;
        return match parsed {
            Value::Array(a) => Ok(Some(a)),
            other => Err(EngineError::Invalid(format!(
                "withParam value is not a JSON list: {other}"
            ))),
        };
    }
    if let Some(seq) = &call.with_sequence {
        return sequence(seq, scope).map(Some);
    }
    Ok(None)
}

fn int(field: &str, v: &Option<String>, scope: &Scope) -> Result<Option<i64>, EngineError> {
    match v {
        None => Ok(None),
        Some(s) => {
            let s = scope.substitute(s)?;
            s.trim().parse().map(Some).map_err(|_| {
                EngineError::Invalid(format!("withSequence.{field}: `{s}` is not an integer"))
            })
        }
    }
}

fn sequence(seq: &Sequence, scope: &Scope) -> Result<Vec<Value>, EngineError> {
    let start = int("start", &seq.start, scope)?.unwrap_or(0);
    let (from, to) = match (
        int("count", &seq.count, scope)?,
        int("end", &seq.end, scope)?,
    ) {
        (Some(_), Some(_)) => {
            return Err(EngineError::Invalid(
                "withSequence: only one of count or end can be defined".into(),
            ))
        }
        (Some(0), None) => return Ok(Vec::new()),
        (Some(c), None) => (start, start + c - 1),
        (None, Some(e)) => (start, e),
        (None, None) => {
            return Err(EngineError::Invalid(
                "withSequence: one of count or end is required".into(),
            ))
        }
    };
    let nums: Vec<i64> = if from <= to {
        (from..=to).collect()
    } else {
        (to..=from).rev().collect()
    };
    Ok(nums
        .into_iter()
        .map(|n| {
            Value::String(match &seq.format {
                Some(f) => printf_int(f, n),
                None => n.to_string(),
            })
        })
        .collect())
}

/// Formats one integer with a printf-style pattern such as `%02d` or `x-%03X`.
fn printf_int(fmt: &str, n: i64) -> String {
    let Some(pos) = fmt.find('%') else {
        return fmt.to_string();
    };
    let rest = &fmt[pos + 1..];
    let zero = rest.starts_with('0');
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let width: usize = digits.parse().unwrap_or(0);
    let Some(verb) = rest[digits.len()..].chars().next() else {
        return fmt.to_string();
    };
    let body = match verb {
        'x' => format!("{n:x}"),
        'X' => format!("{n:X}"),
        'o' => format!("{n:o}"),
        _ => n.to_string(),
    };
    let padded = if zero {
        format!("{body:0>width$}")
    } else {
        format!("{body:>width$}")
    };
    let after = &rest[digits.len() + verb.len_utf8()..];
    format!("{}{padded}{after}", &fmt[..pos])
}

/// Go's `fmt.Sprint` of an item, as used in node names.
fn describe(item: &Value) -> String {
    match item {
        Value::Object(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", describe(v)))
                .collect();
            parts.sort();
            parts.join(",")
        }
        Value::Array(a) => format!("[{}]", a.iter().map(describe).collect::<Vec<_>>().join(" ")),
        other => to_text(other),
    }
}

/// `name(index:item)` with parentheses removed from the item text, as Argo names loop children.
pub fn child_name(base: &str, index: usize, item: &Value) -> String {
    let desc: String = describe(item)
        .chars()
        .filter(|c| *c != '(' && *c != ')')
        .collect();
    format!("{base}({index}:{desc})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_sequences() {
        assert_eq!(
            child_name("a", 0, &json!("hello world")),
            "a(0:hello world)"
        );
        assert_eq!(
            child_name("a", 1, &json!({"num": "2", "evenness": "even"})),
            "a(1:evenness:even,num:2)"
        );
        assert_eq!(printf_int("%02d", 3), "03");
        assert_eq!(printf_int("x-%03X!", 255), "x-0FF!");
        let seq = Sequence {
            count: Some("3".into()),
            start: Some("1".into()),
            end: None,
            format: None,
        };
        assert_eq!(
            sequence(&seq, &Scope::new()).unwrap(),
            vec![json!("1"), json!("2"), json!("3")]
        );
    }
}
