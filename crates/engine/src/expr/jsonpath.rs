//! A small JSONPath subset for Argo's `jsonpath(json, path)`: `$`, `.key`, `['key']`, `[n]`,
//! `[a:b]`, `[*]`, `.*`, `..key` and filters `[?(@.age > 42 && @.name == "x")]`; a path with a
//! wildcard, slice, filter or recursive descent returns a list.

use serde_json::Value;

use crate::error::EngineError;

enum Seg {
    Key(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    /// `[?(…)]`, the filter written as an expression over `#` (JSONPath's `@`).
    Filter(String),
    Wild,
    Descend(String),
}

fn parse(path: &str) -> Result<Vec<Seg>, EngineError> {
    let bad = || EngineError::Expr(format!("unsupported JSONPath `{path}`"));
    let p = path.trim();
    let p = p.strip_prefix('$').unwrap_or(p);
    let chars: Vec<char> = p.chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    let ident = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i] != '.' && chars[*i] != '[' {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                i += 2;
                segs.push(Seg::Descend(ident(&mut i)));
            }
            '.' => {
                i += 1;
                let k = ident(&mut i);
                segs.push(if k == "*" { Seg::Wild } else { Seg::Key(k) });
            }
            '[' => {
                let end = chars[i..].iter().position(|c| *c == ']').ok_or_else(bad)? + i;
                let inner: String = chars[i + 1..end].iter().collect();
                let inner = inner.trim();
                i = end + 1;
                if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                    segs.push(Seg::Filter(f.replace('@', "#")));
                } else if let Some((a, b)) = inner.split_once(':') {
                    let bound = |x: &str| x.trim().parse::<i64>().ok();
                    segs.push(Seg::Slice(bound(a), bound(b)));
                } else if inner == "*" {
                    segs.push(Seg::Wild);
                } else if let Ok(n) = inner.parse::<i64>() {
                    segs.push(Seg::Index(n));
                } else {
                    let k = inner.trim_matches(|c| c == '\'' || c == '"');
                    segs.push(Seg::Key(k.to_string()));
                }
            }
            _ if i == 0 => segs.push(Seg::Key(ident(&mut i))),
            _ => return Err(bad()),
        }
    }
    Ok(segs)
}

fn descend(v: &Value, key: &str, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(key) {
                out.push(x.clone());
            }
            for x in m.values() {
                descend(x, key, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| descend(x, key, out)),
        _ => {}
    }
}

/// Selects `path` in `doc`.
pub fn select(doc: &Value, path: &str) -> Result<Value, EngineError> {
    let segs = parse(path)?;
    let mut multi = false;
    let mut cur = vec![doc.clone()];
    for seg in &segs {
        let mut next = Vec::new();
        for v in &cur {
            match seg {
                Seg::Key(k) => {
                    if let Some(x) = v.get(k) {
                        next.push(x.clone());
                    }
                }
                Seg::Index(n) => {
                    if let Value::Array(a) = v {
                        let i = if *n < 0 { a.len() as i64 + n } else { *n };
                        if let Some(x) = usize::try_from(i).ok().and_then(|i| a.get(i)) {
                            next.push(x.clone());
                        }
                    }
                }
                Seg::Slice(from, to) => {
                    multi = true;
                    if let Value::Array(a) = v {
                        let len = a.len() as i64;
                        let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
                        let lo = norm(from.unwrap_or(0));
                        let hi = norm(to.unwrap_or(len));
                        for i in lo..hi.max(lo) {
                            if let Some(x) = usize::try_from(i).ok().and_then(|i| a.get(i)) {
                                next.push(x.clone());
                            }
                        }
                    }
                }
                Seg::Filter(f) => {
                    multi = true;
                    let items: Vec<&Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        Value::Object(m) => m.values().collect(),
                        _ => Vec::new(),
                    };
                    for x in items {
                        if super::eval_pointer(f, x)? {
                            next.push(x.clone());
                        }
                    }
                }
                Seg::Wild => {
                    multi = true;
                    match v {
                        Value::Array(a) => next.extend(a.iter().cloned()),
                        Value::Object(m) => next.extend(m.values().cloned()),
                        _ => {}
                    }
                }
                Seg::Descend(k) => {
                    multi = true;
                    descend(v, k, &mut next);
                }
            }
        }
        cur = next;
    }
    if multi {
        return Ok(Value::Array(cur));
    }
    cur.into_iter()
        .next()
        .ok_or_else(|| EngineError::Expr(format!("JSONPath `{path}` matched nothing")))
}
