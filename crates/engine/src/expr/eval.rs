//! Evaluator of the expression AST over `serde_json::Value`: operators, member access,
//! ternaries, closures (`map`, `filter`, … with `#`), delegating named functions to `funcs`.

use std::cmp::Ordering;

use serde_json::Value;

use super::funcs;
use super::parser::Expr;
use crate::error::EngineError;

/// How unknown identifiers evaluate: govaluate (Argo `when`) reads them as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Expr,
    Govaluate,
}

pub struct Evaluator<'a> {
    pub root: &'a Value,
    pub mode: Mode,
}

type R = Result<Value, EngineError>;

fn err(msg: impl Into<String>) -> EngineError {
    EngineError::Expr(msg.into())
}

pub fn truthy(v: &Value) -> Result<bool, EngineError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(err(format!("expected a boolean, got {other}"))),
    }
}

pub fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

pub fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, EngineError> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).ok_or_else(|| err("cannot compare NaN"))
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(err(format!("cannot compare {a} with {b}"))),
    }
}

fn index(base: &Value, key: &Value) -> Value {
    match (base, key) {
        (Value::Object(m), Value::String(k)) => m.get(k).cloned().unwrap_or(Value::Null),
        (Value::Array(a), k) if k.is_number() => {
            let i = k.as_i64().unwrap_or(0);
            let i = if i < 0 { a.len() as i64 + i } else { i };
            usize::try_from(i)
                .ok()
                .and_then(|i| a.get(i))
                .cloned()
                .unwrap_or(Value::Null)
        }
        (Value::String(s), k) if k.is_number() => {
            let i = k.as_i64().unwrap_or(0);
            usize::try_from(i)
                .ok()
                .and_then(|i| s.chars().nth(i))
                .map(|c| Value::String(c.to_string()))
                .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

fn arith(op: &str, a: &Value, b: &Value) -> R {
    if op == "+" {
        match (a, b) {
            (Value::String(x), Value::String(y)) => return Ok(Value::String(format!("{x}{y}"))),
            (Value::Array(x), Value::Array(y)) => {
                return Ok(Value::Array(x.iter().chain(y).cloned().collect()))
            }
            _ => {}
        }
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return Err(err(format!(
            "operator `{op}` needs numbers, got {a} and {b}"
        )));
    };
    let ints = a.is_i64() && b.is_i64();
    Ok(match op {
        "+" if ints => Value::from(x as i64 + y as i64),
        "-" if ints => Value::from(x as i64 - y as i64),
        "*" if ints => Value::from(x as i64 * y as i64),
        "+" => float(x + y),
        "-" => float(x - y),
        "*" => float(x * y),
        "/" => {
            if y == 0.0 {
                return Err(err("division by zero"));
            }
            float(x / y)
        }
        "%" => {
            if y == 0.0 {
                return Err(err("modulo by zero"));
            }
            if ints {
                Value::from(x as i64 % y as i64)
            } else {
                float(x % y)
            }
        }
        "**" => float(x.powf(y)),
        _ => return Err(err(format!("unknown operator `{op}`"))),
    })
}

impl Evaluator<'_> {
    pub fn eval(&self, e: &Expr, ptr: Option<&Value>) -> R {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Pointer => ptr
                .cloned()
                .ok_or_else(|| err("`#` used outside a closure")),
            Expr::Ident(name) => match self.root.get(name) {
                Some(v) => Ok(v.clone()),
                None if self.mode == Mode::Govaluate => Ok(Value::String(name.clone())),
                None => Ok(Value::Null),
            },
            Expr::Member(base, key) => {
                let b = self.eval(base, ptr)?;
                let k = self.eval(key, ptr)?;
                Ok(index(&b, &k))
            }
            Expr::Unary(op, inner) => {
                let v = self.eval(inner, ptr)?;
                match *op {
                    "!" => Ok(Value::Bool(!truthy(&v)?)),
                    _ => match v.as_f64() {
                        Some(_) if v.is_i64() => Ok(Value::from(-v.as_i64().unwrap_or(0))),
                        Some(f) => Ok(float(-f)),
                        None => Err(err(format!("cannot negate {v}"))),
                    },
                }
            }
            Expr::Ternary(c, a, b) => {
                if truthy(&self.eval(c, ptr)?)? {
                    self.eval(a, ptr)
                } else {
                    self.eval(b, ptr)
                }
            }
            Expr::Binary(op, a, b) => self.binary(op, a, b, ptr),
            Expr::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|i| self.eval(i, ptr))
                    .collect::<Result<_, _>>()?,
            )),
            Expr::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    m.insert(k.clone(), self.eval(v, ptr)?);
                }
                Ok(Value::Object(m))
            }
            Expr::Closure(_) => Err(err(
                "a closure `{…}` is only allowed as a function argument",
            )),
            Expr::Call(name, args) => self.call(name, args, ptr),
        }
    }

    fn binary(&self, op: &str, a: &Expr, b: &Expr, ptr: Option<&Value>) -> R {
        match op {
            "&&" => {
                if !truthy(&self.eval(a, ptr)?)? {
                    return Ok(Value::Bool(false));
                }
                return Ok(Value::Bool(truthy(&self.eval(b, ptr)?)?));
            }
            "||" => {
                if truthy(&self.eval(a, ptr)?)? {
                    return Ok(Value::Bool(true));
                }
                return Ok(Value::Bool(truthy(&self.eval(b, ptr)?)?));
            }
            "??" => {
                let v = self.eval(a, ptr)?;
                return if v.is_null() {
                    self.eval(b, ptr)
                } else {
                    Ok(v)
                };
            }
            _ => {}
        }
        let x = self.eval(a, ptr)?;
        let y = self.eval(b, ptr)?;
        let s = |v: &Value| v.as_str().map(str::to_string);
        Ok(match op {
            "==" => Value::Bool(loose_eq(&x, &y)),
            "!=" => Value::Bool(!loose_eq(&x, &y)),
            "<" => Value::Bool(compare(&x, &y)? == Ordering::Less),
            "<=" => Value::Bool(compare(&x, &y)? != Ordering::Greater),
            ">" => Value::Bool(compare(&x, &y)? == Ordering::Greater),
            ">=" => Value::Bool(compare(&x, &y)? != Ordering::Less),
            "in" => Value::Bool(match &y {
                Value::Array(items) => items.iter().any(|i| loose_eq(i, &x)),
                Value::Object(m) => s(&x).is_some_and(|k| m.contains_key(&k)),
                Value::String(hay) => s(&x).is_some_and(|n| hay.contains(&n)),
                _ => false,
            }),
            "contains" | "startsWith" | "endsWith" => {
                let (Some(h), Some(n)) = (s(&x), s(&y)) else {
                    return Err(err(format!("`{op}` needs strings")));
                };
                Value::Bool(match op {
                    "contains" => h.contains(&n),
                    "startsWith" => h.starts_with(&n),
                    _ => h.ends_with(&n),
                })
            }
            "matches" | "=~" | "!~" => {
                let (Some(h), Some(p)) = (s(&x), s(&y)) else {
                    return Err(err(format!("`{op}` needs strings")));
                };
                let re = regex::Regex::new(&p).map_err(|e| err(format!("bad regex `{p}`: {e}")))?;
                Value::Bool(re.is_match(&h) != (op == "!~"))
            }
            ".." => {
                let (Some(lo), Some(hi)) = (x.as_i64(), y.as_i64()) else {
                    return Err(err("`..` needs integers"));
                };
                Value::Array((lo..=hi).map(Value::from).collect())
            }
            _ => arith(op, &x, &y)?,
        })
    }

    fn call(&self, name: &str, args: &[Expr], ptr: Option<&Value>) -> R {
        if let [list, Expr::Closure(body)] = args {
            let items = match self.eval(list, ptr)? {
                Value::Array(a) => a,
                Value::Null => Vec::new(),
                other => return Err(err(format!("`{name}` needs an array, got {other}"))),
            };
            let apply = |v: &Value| self.eval(body, Some(v));
            let test = |v: &Value| -> Result<bool, EngineError> { truthy(&apply(v)?) };
            return Ok(match name {
                "map" => Value::Array(items.iter().map(apply).collect::<Result<_, _>>()?),
                "filter" => {
                    let mut out = Vec::new();
                    for i in items {
                        if test(&i)? {
                            out.push(i);
                        }
                    }
                    Value::Array(out)
                }
                "all" => Value::Bool(
                    items
                        .iter()
                        .try_fold(true, |acc, i| Ok::<_, EngineError>(acc && test(i)?))?,
                ),
                "any" => Value::Bool(
                    items
                        .iter()
                        .try_fold(false, |acc, i| Ok::<_, EngineError>(acc || test(i)?))?,
                ),
                "none" => Value::Bool(
                    !items
                        .iter()
                        .try_fold(false, |acc, i| Ok::<_, EngineError>(acc || test(i)?))?,
                ),
                "count" => {
                    let mut n = 0;
                    for i in &items {
                        if test(i)? {
                            n += 1;
                        }
                    }
                    Value::from(n)
                }
                "find" => {
                    for i in items {
                        if test(&i)? {
                            return Ok(i);
                        }
                    }
                    Value::Null
                }
                "sum" => {
                    let mut total = Value::from(0);
                    for i in &items {
                        total = arith("+", &total, &apply(i)?)?;
                    }
                    total
                }
                _ => return Err(err(format!("unknown function `{name}` with a closure"))),
            });
        }
        let values = args
            .iter()
            .map(|a| self.eval(a, ptr))
            .collect::<Result<Vec<_>, _>>()?;
        funcs::call(name, values)
    }
}
