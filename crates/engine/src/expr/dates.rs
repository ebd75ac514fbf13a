//! sprig's date functions (`date`, `dateInZone`, `now`, `unixEpoch`, `toDate`, `ago`-free
//! subset) with Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`). The layout is
//! translated to chrono's strftime by hand: no crate reads Go layouts, and the token table
//! below is all of it.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::funcs::{arg, text};
use crate::error::EngineError;

/// Go layout tokens, longest first where one is a prefix of another, and chrono's spelling.
const TOKENS: &[(&str, &str)] = &[
    ("January", "%B"),
    ("Monday", "%A"),
    ("Z07:00", "%:z"),
    ("-07:00", "%:z"),
    ("-0700", "%z"),
    ("2006", "%Y"),
    (".000000000", "%.9f"),
    (".000000", "%.6f"),
    (".000", "%.3f"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "%Z"),
    ("_2", "%e"),
    ("15", "%H"),
    ("01", "%m"),
    ("02", "%d"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("06", "%y"),
    ("PM", "%p"),
    ("pm", "%P"),
    ("1", "%-m"),
    ("2", "%-d"),
    ("3", "%-I"),
    ("4", "%-M"),
    ("5", "%-S"),
];

/// Go's layout as a chrono format string.
fn chrono_format(layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    'scan: while let Some(c) = rest.chars().next() {
        for (go, chrono) in TOKENS {
            if let Some(tail) = rest.strip_prefix(go) {
                out.push_str(chrono);
                rest = tail;
                continue 'scan;
            }
        }
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A time as sprig's `toDate` conversions read it: a time string (RFC 3339, as Argo writes
/// `workflow.creationTimestamp`), a Unix time in seconds; anything else is now, as in sprig.
fn as_time(v: &Value) -> DateTime<Utc> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now()),
        Value::Number(n) => n
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .unwrap_or_else(Utc::now),
        _ => Utc::now(),
    }
}

fn format(layout: &str, t: DateTime<Utc>) -> Value {
    Value::String(t.format(&chrono_format(layout)).to_string())
}

/// The date functions; `None` when `name` is not one of them. Zones other than UTC are
/// refused: the engine has no time zone database (`Local` is UTC here).
pub(super) fn dates(name: &str, a: &[Value]) -> Result<Option<Value>, EngineError> {
    Ok(Some(match name {
        "now" => Value::String(Utc::now().to_rfc3339()),
        "unixEpoch" => Value::from(as_time(arg(name, a, 0)?).timestamp()),
        "date" => format(&text(name, a, 0)?, as_time(arg(name, a, 1)?)),
        "dateInZone" => {
            let zone = text(name, a, 2)?;
            if !matches!(zone.as_str(), "UTC" | "Local" | "") {
                return Err(EngineError::Expr(format!(
                    "dateInZone: time zone `{zone}` is not supported (only UTC)"
                )));
            }
            format(&text(name, a, 0)?, as_time(arg(name, a, 1)?))
        }
        "toDate" => {
            let (layout, value) = (text(name, a, 0)?, text(name, a, 1)?);
            let parsed = NaiveDateTime::parse_from_str(&value, &chrono_format(&layout))
                .map_err(|e| EngineError::Expr(format!("toDate: `{value}`: {e}")))?;
            Value::String(parsed.and_utc().to_rfc3339())
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_layouts_format_as_go_does() {
        let t = json!("2024-03-05T07:08:09Z");
        let call = |layout: &str| dates("date", &[json!(layout), t.clone()]).unwrap().unwrap();
        assert_eq!(call("2006"), json!("2024"));
        assert_eq!(call("2006-01-02 15:04:05"), json!("2024-03-05 07:08:09"));
        assert_eq!(call("Jan 2, 06 3PM"), json!("Mar 5, 24 7AM"));
        // As in Go, digits are layout tokens (`1` is the month); `%` is literal.
        assert_eq!(call("Monday 100%"), json!("Tuesday 300%"));
        assert_eq!(
            dates("unixEpoch", &[t]).unwrap().unwrap(),
            json!(1709622489)
        );
        assert!(dates(
            "dateInZone",
            &[json!("2006"), json!(0), json!("Europe/Paris")]
        )
        .is_err());
    }
}
