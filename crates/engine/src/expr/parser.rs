//! Tokenizer and Pratt parser for the expression languages Argo uses (govaluate for `when`,
//! expr-lang for `{{=…}}`, `depends`, `retryStrategy.expression`): one grammar, one AST.

use serde_json::Value;

use crate::error::EngineError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(Value),
    Str(String),
    Ident(String),
    Op(&'static str),
    Hash,
}

const OPS: &[&str] = &[
    "??", "?.", "**", "==", "!=", "<=", ">=", "&&", "||", "=~", "!~", "..", "(", ")", "[", "]",
    "{", "}", ",", ".", ":", "?", "+", "-", "*", "/", "%", "^", "<", ">", "!",
];

pub fn tokenize(src: &str) -> Result<Vec<Tok>, EngineError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            out.push(number(&chars, &mut i, src)?);
        } else if c == '\'' || c == '"' || c == '`' {
            out.push(string(&chars, &mut i, src)?);
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c == '#' {
            i += 1;
            out.push(Tok::Hash);
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                return Err(EngineError::Expr(format!("unexpected `{c}` in `{src}`")));
            };
            i += op.chars().count();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

/// A number literal starting at `chars[*i]`; advances `*i` past it.
fn number(chars: &[char], i: &mut usize, src: &str) -> Result<Tok, EngineError> {
    let start = *i;
    let mut is_float = false;
    while *i < chars.len() && (chars[*i].is_ascii_digit() || chars[*i] == '_') {
        *i += 1;
    }
    if *i + 1 < chars.len() && chars[*i] == '.' && chars[*i + 1].is_ascii_digit() {
        is_float = true;
        *i += 1;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
    }
    if *i < chars.len() && (chars[*i] == 'e' || chars[*i] == 'E') {
        let mut j = *i + 1;
        if j < chars.len() && (chars[j] == '-' || chars[j] == '+') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            is_float = true;
            *i = j;
            while *i < chars.len() && chars[*i].is_ascii_digit() {
                *i += 1;
            }
        }
    }
    let text: String = chars[start..*i].iter().filter(|c| **c != '_').collect();
    let num = if is_float {
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
    } else {
        text.parse::<i64>().ok().map(Value::from)
    };
    num.map(Tok::Num)
        .ok_or_else(|| EngineError::Expr(format!("bad number `{text}` in `{src}`")))
}

/// A quoted string literal starting at `chars[*i]` (the quote); advances `*i` past it.
fn string(chars: &[char], i: &mut usize, src: &str) -> Result<Tok, EngineError> {
    let quote = chars[*i];
    *i += 1;
    let mut s = String::new();
    loop {
        let Some(&ch) = chars.get(*i) else {
            return Err(EngineError::Expr(format!("unterminated string in `{src}`")));
        };
        *i += 1;
        if ch == quote {
            break;
        }
        if ch == '\\' && quote != '`' {
            let Some(&esc) = chars.get(*i) else {
                return Err(EngineError::Expr(format!("bad escape in `{src}`")));
            };
            *i += 1;
            s.push(match esc {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            });
        } else {
            s.push(ch);
        }
    }
    Ok(Tok::Str(s))
}

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Value),
    Ident(String),
    Pointer,
    Member(Box<Expr>, Box<Expr>),
    Unary(&'static str, Box<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
    Closure(Box<Expr>),
    Array(Vec<Expr>),
    Map(Vec<(String, Expr)>),
}

pub struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

const CLOSURE_FUNCS: &[&str] = &[
    "map",
    "filter",
    "all",
    "any",
    "none",
    "one",
    "count",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "sortBy",
    "groupBy",
    "sum",
];

fn infix_power(t: &Tok) -> Option<(u8, String)> {
    let (p, name) = match t {
        Tok::Op("?") => (1, "?"),
        Tok::Op("??") => (2, "??"),
        Tok::Op("||") => (3, "||"),
        Tok::Ident(s) if s == "or" => (3, "||"),
        Tok::Op("&&") => (4, "&&"),
        Tok::Ident(s) if s == "and" => (4, "&&"),
        Tok::Op(op @ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "=~" | "!~")) => (5, *op),
        Tok::Ident(s)
            if matches!(
                s.as_str(),
                "in" | "matches" | "contains" | "startsWith" | "endsWith"
            ) =>
        {
            (5, s.as_str())
        }
        Tok::Op("..") => (6, ".."),
        Tok::Op(op @ ("+" | "-")) => (7, *op),
        Tok::Op(op @ ("*" | "/" | "%")) => (8, *op),
        Tok::Op("**") | Tok::Op("^") => (9, "**"),
        _ => return None,
    };
    Some((p, name.to_string()))
}

impl<'a> Parser<'a> {
    pub fn parse(src: &'a str) -> Result<Expr, EngineError> {
        let mut p = Parser {
            toks: tokenize(src)?,
            pos: 0,
            src,
        };
        let e = p.expr(0)?;
        if p.pos < p.toks.len() {
            return Err(p.err(&format!("unexpected {:?}", p.toks[p.pos])));
        }
        Ok(e)
    }

    fn err(&self, msg: &str) -> EngineError {
        EngineError::Expr(format!("{msg} in `{}`", self.src.trim()))
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), EngineError> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{op}`")))
        }
    }

    fn expr(&mut self, min: u8) -> Result<Expr, EngineError> {
        let mut lhs = self.prefix()?;
        loop {
            // `not in` / `not matches`
            if matches!(self.peek(), Some(Tok::Ident(s)) if s == "not")
                && matches!(self.toks.get(self.pos + 1), Some(Tok::Ident(s)) if s == "in" || s == "matches")
                && min < 5
            {
                self.pos += 1;
                let Some(Tok::Ident(op)) = self.next() else {
                    return Err(self.err("expected operator"));
                };
                let rhs = self.expr(6)?;
                lhs = Expr::Unary(
                    "!",
                    Box::new(Expr::Binary(op, Box::new(lhs), Box::new(rhs))),
                );
                continue;
            }
            let Some((power, op)) = self.peek().and_then(infix_power) else {
                break;
            };
            if power < min {
                break;
            }
            self.pos += 1;
            if op == "?" {
                let then = self.expr(0)?;
                self.expect(":")?;
                let other = self.expr(1)?;
                lhs = Expr::Ternary(Box::new(lhs), Box::new(then), Box::new(other));
                continue;
            }
            let rhs = self.expr(if op == "**" { power } else { power + 1 })?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn prefix(&mut self) -> Result<Expr, EngineError> {
        let tok = self.next().ok_or_else(|| self.err("unexpected end"))?;
        let base = match tok {
            Tok::Num(v) => Expr::Lit(v),
            Tok::Str(s) => Expr::Lit(Value::String(s)),
            Tok::Hash => Expr::Pointer,
            Tok::Op("(") => {
                let e = self.expr(0)?;
                self.expect(")")?;
                e
            }
            Tok::Op("!") => return Ok(Expr::Unary("!", Box::new(self.expr(10)?))),
            Tok::Op("-") => return Ok(Expr::Unary("-", Box::new(self.expr(10)?))),
            Tok::Op("+") => return self.expr(10),
            Tok::Op("[") => Expr::Array(self.list("]")?),
            Tok::Op("{") => {
                let mut entries = Vec::new();
                while !self.eat("}") {
                    let key = match self.next() {
                        Some(Tok::Ident(s)) | Some(Tok::Str(s)) => s,
                        Some(Tok::Num(n)) => n.to_string(),
                        _ => return Err(self.err("expected a map key")),
                    };
                    self.expect(":")?;
                    entries.push((key, self.expr(0)?));
                    if !self.eat(",") {
                        self.expect("}")?;
                        break;
                    }
                }
                Expr::Map(entries)
            }
            Tok::Ident(s) => match s.as_str() {
                "true" => Expr::Lit(Value::Bool(true)),
                "false" => Expr::Lit(Value::Bool(false)),
                "nil" | "null" => Expr::Lit(Value::Null),
                "not" => return Ok(Expr::Unary("!", Box::new(self.expr(10)?))),
                _ => Expr::Ident(s),
            },
            other => return Err(self.err(&format!("unexpected {other:?}"))),
        };
        self.postfix(base)
    }

    fn list(&mut self, close: &str) -> Result<Vec<Expr>, EngineError> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.expr(0)?);
            if !self.eat(",") {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }

    fn call_args(&mut self, name: &str) -> Result<Vec<Expr>, EngineError> {
        let closure_ok = CLOSURE_FUNCS.contains(&name);
        let mut items = Vec::new();
        while !self.eat(")") {
            if closure_ok && matches!(self.peek(), Some(Tok::Op("{"))) {
                self.pos += 1;
                let body = self.expr(0)?;
                self.expect("}")?;
                items.push(Expr::Closure(Box::new(body)));
            } else {
                items.push(self.expr(0)?);
            }
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(items)
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, EngineError> {
        loop {
            if self.eat(".") || self.eat("?.") {
                match self.next() {
                    Some(Tok::Ident(name)) => {
                        e = Expr::Member(Box::new(e), Box::new(Expr::Lit(Value::String(name))))
                    }
                    Some(Tok::Num(n)) => e = Expr::Member(Box::new(e), Box::new(Expr::Lit(n))),
                    _ => return Err(self.err("expected a field name after `.`")),
                }
            } else if self.eat("[") {
                let idx = self.expr(0)?;
                self.expect("]")?;
                e = Expr::Member(Box::new(e), Box::new(idx));
            } else if matches!(self.peek(), Some(Tok::Op("("))) {
                let Some(name) = callee_name(&e) else {
                    return Err(self.err("only named functions can be called"));
                };
                self.pos += 1;
                let args = self.call_args(&name)?;
                e = Expr::Call(name, args);
            } else {
                return Ok(e);
            }
        }
    }
}

fn callee_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Ident(s) => Some(s.clone()),
        Expr::Member(base, key) => match key.as_ref() {
            Expr::Lit(Value::String(k)) => Some(format!("{}.{k}", callee_name(base)?)),
            _ => None,
        },
        _ => None,
    }
}
