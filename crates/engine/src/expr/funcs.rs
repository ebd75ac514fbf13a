//! Named functions available in expressions: expr-lang builtins, Argo's helpers
//! (`asInt`, `asFloat`, `toJson`, `jsonpath`) and the commonly used `sprig.*` functions,
//! dispatched by family (the string ones are in `strings`).

use base64::Engine as _;
use serde_json::Value;

use super::eval::{loose_eq, num};
use super::jsonpath;
use super::strings::{searching, strings};
use crate::error::EngineError;

type R = Result<Value, EngineError>;

fn err(msg: impl Into<String>) -> EngineError {
    EngineError::Expr(msg.into())
}

/// A value as text, the way Go's `%v`/Argo render parameters.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(_) => match v.as_f64() {
            Some(f) if !v.is_i64() && !v.is_u64() => num(f).to_string(),
            _ => v.to_string(),
        },
        other => to_json(other),
    }
}

/// Compact JSON with integral floats written as integers (as Go's encoder does).
pub fn to_json(v: &Value) -> String {
    normalize(v).to_string()
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(_) if !v.is_i64() && !v.is_u64() => num(v.as_f64().unwrap_or(0.0)),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

pub(super) fn arg<'a>(name: &str, args: &'a [Value], i: usize) -> Result<&'a Value, EngineError> {
    args.get(i)
        .ok_or_else(|| err(format!("`{name}` expects at least {} argument(s)", i + 1)))
}

pub(super) fn text(name: &str, args: &[Value], i: usize) -> Result<String, EngineError> {
    Ok(to_text(arg(name, args, i)?))
}

pub(super) fn to_i64(v: &Value) -> Result<i64, EngineError> {
    match v {
        Value::Number(_) => Ok(v
            .as_i64()
            .unwrap_or_else(|| v.as_f64().unwrap_or(0.0) as i64)),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .or_else(|_| t.parse::<f64>().map(|f| f as i64))
                .map_err(|_| err(format!("cannot convert `{s}` to an integer")))
        }
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Null => Ok(0),
        other => Err(err(format!("cannot convert {other} to an integer"))),
    }
}

fn to_f64(v: &Value) -> Result<f64, EngineError> {
    match v {
        Value::Number(_) => Ok(v.as_f64().unwrap_or(0.0)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| err(format!("cannot convert `{s}` to a float"))),
        Value::Null => Ok(0.0),
        other => Err(err(format!("cannot convert {other} to a float"))),
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn parse_json(name: &str, s: &str) -> R {
    serde_json::from_str(s).map_err(|e| err(format!("`{name}`: not JSON ({e}): {s}")))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Number(_) => v.as_f64() == Some(0.0),
    }
}

pub(super) fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn fold_ints(args: &[Value], f: fn(i64, i64) -> i64) -> R {
    let mut it = args.iter().flat_map(list);
    let first = it.next().ok_or_else(|| err("needs arguments"))?;
    let mut acc = to_i64(&first)?;
    for v in it {
        acc = f(acc, to_i64(&v)?);
    }
    Ok(Value::from(acc))
}

fn fold_floats(args: &[Value], f: fn(f64, f64) -> f64) -> R {
    let mut it = args.iter().flat_map(list);
    let first = it.next().ok_or_else(|| err("needs arguments"))?;
    let mut acc = to_f64(&first)?;
    for v in it {
        acc = f(acc, to_f64(&v)?);
    }
    Ok(float(acc))
}

fn b64dec(s: &str) -> R {
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(s.trim())
        .map_err(|e| err(format!("b64dec: {e}")))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Calls the named function with evaluated arguments.
pub fn call(name: &str, args: Vec<Value>) -> R {
    let a = &args;
    if name == "sprig.replace" {
        let s = text(name, a, 2)?;
        return Ok(Value::String(
            s.replace(&text(name, a, 0)?, &text(name, a, 1)?),
        ));
    }
    let name = name.strip_prefix("sprig.").map_or(name, |n| n);
    for family in [
        convert,
        strings,
        searching,
        math,
        collections,
        super::dates::dates,
    ] {
        if let Some(v) = family(name, a)? {
            return Ok(v);
        }
    }
    Err(err(format!("unknown function `{name}`")))
}

/// Conversions and encodings: numbers, text, JSON, base64, `jsonpath`, `type`.
/// `None`: not one of them.
fn convert(name: &str, a: &[Value]) -> Result<Option<Value>, EngineError> {
    Ok(Some(match name {
        "jsonpath" => {
            let doc = match arg(name, a, 0)? {
                Value::String(s) => parse_json(name, s)?,
                other => other.clone(),
            };
            jsonpath::select(&doc, &text(name, a, 1)?)?
        }
        "asInt" | "int" | "int64" | "atoi" => Value::from(to_i64(arg(name, a, 0)?)?),
        "asFloat" | "float" | "float64" => float(to_f64(arg(name, a, 0)?)?),
        "string" | "toString" => Value::String(to_text(arg(name, a, 0)?)),
        "toJson" | "toJSON" | "toRawJson" | "mustToJson" => {
            Value::String(to_json(arg(name, a, 0)?))
        }
        "toPrettyJson" => Value::String(
            serde_json::to_string_pretty(&normalize(arg(name, a, 0)?))
                .map_err(|e| err(e.to_string()))?,
        ),
        "fromJson" | "fromJSON" | "mustFromJson" => parse_json(name, &text(name, a, 0)?)?,
        "b64enc" | "toBase64" => Value::String(
            base64::engine::general_purpose::STANDARD.encode(text(name, a, 0)?.as_bytes()),
        ),
        "b64dec" | "fromBase64" => b64dec(&text(name, a, 0)?)?,
        "type" => Value::String(
            match arg(name, a, 0)? {
                Value::Null => "nil",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_f64() => "float",
                Value::Number(_) => "int",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "map",
            }
            .to_string(),
        ),
        _ => return Ok(None),
    }))
}

/// Integer and float arithmetic. `None`: not one of them.
fn math(name: &str, a: &[Value]) -> Result<Option<Value>, EngineError> {
    Ok(Some(match name {
        "add" => fold_ints(a, |x, y| x.saturating_add(y))?,
        "sub" => fold_ints(a, |x, y| x.saturating_sub(y))?,
        "mul" => fold_ints(a, |x, y| x.saturating_mul(y))?,
        "div" => {
            let d = to_i64(arg(name, a, 1)?)?;
            if d == 0 {
                return Err(err("div by zero"));
            }
            Value::from(to_i64(arg(name, a, 0)?)? / d)
        }
        "mod" => {
            let d = to_i64(arg(name, a, 1)?)?;
            if d == 0 {
                return Err(err("mod by zero"));
            }
            Value::from(to_i64(arg(name, a, 0)?)? % d)
        }
        "max" if a.iter().any(|v| v.is_f64()) => fold_floats(a, f64::max)?,
        "min" if a.iter().any(|v| v.is_f64()) => fold_floats(a, f64::min)?,
        "max" => fold_ints(a, i64::max)?,
        "min" => fold_ints(a, i64::min)?,
        "addf" => fold_floats(a, |x, y| x + y)?,
        "subf" => fold_floats(a, |x, y| x - y)?,
        "mulf" => fold_floats(a, |x, y| x * y)?,
        "divf" => fold_floats(a, |x, y| x / y)?,
        "maxf" => fold_floats(a, f64::max)?,
        "minf" => fold_floats(a, f64::min)?,
        "abs" => {
            let v = arg(name, a, 0)?;
            if v.is_i64() {
                Value::from(to_i64(v)?.abs())
            } else {
                float(to_f64(v)?.abs())
            }
        }
        "ceil" => float(to_f64(arg(name, a, 0)?)?.ceil()),
        "floor" => float(to_f64(arg(name, a, 0)?)?.floor()),
        "round" => float(to_f64(arg(name, a, 0)?)?.round()),
        _ => return Ok(None),
    }))
}

/// Lists, maps, emptiness and choice: `len`, `default`, `ternary`, `first`, `eq`…
/// `None`: not one of them.
fn collections(name: &str, a: &[Value]) -> Result<Option<Value>, EngineError> {
    Ok(Some(match name {
        "len" => Value::from(match arg(name, a, 0)? {
            Value::String(s) => s.chars().count(),
            Value::Array(v) => v.len(),
            Value::Object(m) => m.len(),
            _ => 0,
        }),
        "default" => {
            let (def, given) = (arg(name, a, 0)?, a.get(1).unwrap_or(&Value::Null));
            if is_empty(given) {
                def.clone()
            } else {
                given.clone()
            }
        }
        "empty" => Value::Bool(is_empty(arg(name, a, 0)?)),
        "coalesce" => a
            .iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Null),
        "ternary" => {
            if super::eval::truthy(arg(name, a, 2)?)? {
                arg(name, a, 0)?.clone()
            } else {
                arg(name, a, 1)?.clone()
            }
        }
        "list" => Value::Array(a.to_vec()),
        "first" => list(arg(name, a, 0)?)
            .first()
            .cloned()
            .unwrap_or(Value::Null),
        "last" => list(arg(name, a, 0)?)
            .last()
            .cloned()
            .unwrap_or(Value::Null),
        "keys" => match arg(name, a, 0)? {
            Value::Object(m) => Value::Array(m.keys().map(|k| Value::String(k.clone())).collect()),
            _ => Value::Array(Vec::new()),
        },
        "values" => match arg(name, a, 0)? {
            Value::Object(m) => Value::Array(m.values().cloned().collect()),
            _ => Value::Array(Vec::new()),
        },
        "eq" => Value::Bool(loose_eq(arg(name, a, 0)?, arg(name, a, 1)?)),
        _ => return Ok(None),
    }))
}
