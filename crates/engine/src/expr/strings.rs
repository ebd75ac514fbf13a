//! String functions of expressions (`upper`, `trim`, `split`, `join`, `hasPrefix`…), with
//! expr-lang's and sprig's argument orders where they differ.

use serde_json::Value;

use super::funcs::{arg, list, text, to_i64, to_text};
use crate::error::EngineError;

/// Functions from strings to a string: case, trimming, quoting, replacing, cutting.
/// `None`: not one of them.
pub(super) fn strings(name: &str, a: &[Value]) -> Result<Option<Value>, EngineError> {
    Ok(Some(match name {
        "upper" => Value::String(text(name, a, 0)?.to_uppercase()),
        "lower" => Value::String(text(name, a, 0)?.to_lowercase()),
        "trim" if a.len() == 1 => Value::String(text(name, a, 0)?.trim().to_string()),
        "trim" | "trimAll" => {
            // expr-lang: trim(s, chars); sprig: trimAll(chars, s)
            let (s, set) = if name == "trim" {
                (text(name, a, 0)?, text(name, a, 1)?)
            } else {
                (text(name, a, 1)?, text(name, a, 0)?)
            };
            Value::String(s.trim_matches(|c| set.contains(c)).to_string())
        }
        "title" => Value::String(
            text(name, a, 0)?
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "nospace" => Value::String(text(name, a, 0)?.split_whitespace().collect()),
        "quote" => Value::String(format!("\"{}\"", text(name, a, 0)?)),
        "squote" => Value::String(format!("'{}'", text(name, a, 0)?)),
        "replace" => {
            Value::String(text(name, a, 0)?.replace(&text(name, a, 1)?, &text(name, a, 2)?))
        }
        "trimPrefix" => {
            let (s, p) = (text(name, a, 0)?, text(name, a, 1)?);
            Value::String(s.strip_prefix(p.as_str()).map_or(s.clone(), str::to_string))
        }
        "trimSuffix" => {
            let (s, p) = (text(name, a, 0)?, text(name, a, 1)?);
            Value::String(s.strip_suffix(p.as_str()).map_or(s.clone(), str::to_string))
        }
        "repeat" => {
            let (n, s) = match (arg(name, a, 0)?, arg(name, a, 1)?) {
                (Value::String(s), n) => (to_i64(n)?, s.clone()),
                (n, s) => (to_i64(n)?, to_text(s)),
            };
            Value::String(s.repeat(usize::try_from(n).unwrap_or(0)))
        }
        "substr" => {
            let (start, end, s) = (
                to_i64(arg(name, a, 0)?)?,
                to_i64(arg(name, a, 1)?)?,
                text(name, a, 2)?,
            );
            let chars: Vec<char> = s.chars().collect();
            let lo = usize::try_from(start).unwrap_or(0).min(chars.len());
            let hi = if end < 0 {
                chars.len()
            } else {
                usize::try_from(end).unwrap_or(0).min(chars.len())
            };
            Value::String(chars[lo..hi.max(lo)].iter().collect())
        }
        "trunc" => {
            let (n, s) = (to_i64(arg(name, a, 0)?)?, text(name, a, 1)?);
            Value::String(s.chars().take(usize::try_from(n).unwrap_or(0)).collect())
        }
        _ => return Ok(None),
    }))
}

/// Splitting, joining and searching strings.
/// `None`: not one of them.
pub(super) fn searching(name: &str, a: &[Value]) -> Result<Option<Value>, EngineError> {
    Ok(Some(match name {
        "split" => {
            let s = text(name, a, 0)?;
            let sep = text(name, a, 1)?;
            Value::Array(s.split(&sep).map(|p| Value::String(p.into())).collect())
        }
        "splitList" => {
            let sep = text(name, a, 0)?;
            let s = text(name, a, 1)?;
            Value::Array(s.split(&sep).map(|p| Value::String(p.into())).collect())
        }
        "join" => {
            // expr-lang: join(list, sep); sprig: join(sep, list)
            let (items, sep) = match (arg(name, a, 0)?, a.get(1)) {
                (Value::Array(l), sep) => (l.clone(), sep.map(to_text).unwrap_or_default()),
                (sep, Some(l)) => (list(l), to_text(sep)),
                (l, None) => (list(l), String::new()),
            };
            Value::String(items.iter().map(to_text).collect::<Vec<_>>().join(&sep))
        }
        "hasPrefix" | "hasSuffix" | "contains" => {
            // expr-lang style hasPrefix(s, prefix); sprig style hasPrefix(prefix, s) is ambiguous,
            // so accept either order when one argument contains the other.
            let x = text(name, a, 0)?;
            let y = text(name, a, 1)?;
            let check = |h: &str, n: &str| match name {
                "hasPrefix" => h.starts_with(n),
                "hasSuffix" => h.ends_with(n),
                _ => h.contains(n),
            };
            Value::Bool(check(&x, &y) || check(&y, &x))
        }
        "indexOf" => {
            let (s, n) = (text(name, a, 0)?, text(name, a, 1)?);
            Value::from(s.find(&n).map_or(-1, |i| i as i64))
        }
        _ => return Ok(None),
    }))
}
