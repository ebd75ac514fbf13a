//! Argo's expression languages, implemented here because no crate implements govaluate or
//! expr-lang: a small tokenizer + Pratt parser (`parser`), an evaluator over
//! `serde_json::Value` (`eval`), builtin/sprig functions (`funcs`) and a JSONPath subset.

mod dates;
mod eval;
mod funcs;
mod jsonpath;
mod parser;
mod strings;

use serde_json::Value;

use crate::error::EngineError;
pub use eval::Mode;
pub use funcs::{to_json, to_text};
pub use parser::{tokenize, Tok};

/// Evaluates `src` against the environment `env` (a JSON object of top-level names).
pub fn eval(src: &str, env: &Value, mode: Mode) -> Result<Value, EngineError> {
    let ast = parser::Parser::parse(src)?;
    eval::Evaluator { root: env, mode }.eval(&ast, None)
}

/// Evaluates a predicate over `#` (JSONPath filters).
fn eval_pointer(src: &str, ptr: &Value) -> Result<bool, EngineError> {
    let ast = parser::Parser::parse(src)?;
    let v = eval::Evaluator {
        root: &Value::Null,
        mode: Mode::Expr,
    }
    .eval(&ast, Some(ptr))?;
    Ok(v == Value::Bool(true))
}

/// Evaluates to a boolean (Argo's `when`, `depends`, retry `expression`).
pub fn eval_bool(src: &str, env: &Value, mode: Mode) -> Result<bool, EngineError> {
    let v = eval(src, env, mode)?;
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(EngineError::Expr(format!(
            "expected a boolean from `{}`, got {other}",
            src.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn govaluate_bare_words() {
        assert!(eval_bool("heads == heads", &json!({}), Mode::Govaluate).unwrap());
        assert!(!eval_bool("tails == heads", &json!({}), Mode::Govaluate).unwrap());
        assert!(eval_bool("5 > 3 && (1 == 1.0)", &json!({}), Mode::Govaluate).unwrap());
        assert!(eval_bool("'a' =~ '^a$'", &json!({}), Mode::Govaluate).unwrap());
    }

    #[test]
    fn expr_ternary_and_members() {
        let env = json!({"steps": {"flip-coin": {"outputs": {"result": "heads"}}, "heads": {"outputs": {"result": "H"}}}});
        let v = eval(
            "steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result",
            &env,
            Mode::Expr,
        )
        .unwrap();
        assert_eq!(v, json!("H"));
        let v = eval("1 > 2 ? 'a' : 2 > 1 ? 'b' : 'c'", &env, Mode::Expr).unwrap();
        assert_eq!(v, json!("b"));
        assert_eq!(
            eval("'x' in ['x', 'y']", &env, Mode::Expr).unwrap(),
            json!(true)
        );
        assert_eq!(eval("asInt('3') + 4", &env, Mode::Expr).unwrap(), json!(7));
        assert_eq!(eval("2 ** 3", &env, Mode::Expr).unwrap(), json!(8.0));
    }

    #[test]
    fn expr_map_closure_and_sprig() {
        let env = json!({"workflow": {"parameters": {"weather": "{\"weekWeather\": \"eyJ0ZW1wcyI6IFszNCwgMjcsIDE1LCA1NywgNDZdfQo=\"}"}}});
        let src = "map([jsonpath(sprig.b64dec(jsonpath(workflow.parameters.weather, '$.weekWeather')), '$.temps')], {toJson({avg: sprig.add(#[0], #[1], #[2], #[3], #[4]) / 5, min: sprig.min(#[0], #[1], #[2], #[3], #[4]), max: sprig.max(#[0], #[1], #[2], #[3], #[4])})})[0]";
        let v = eval(src, &env, Mode::Expr).unwrap();
        assert_eq!(v, json!("{\"avg\":35.8,\"max\":57,\"min\":15}"));
    }

    #[test]
    fn jsonpath_basics() {
        let env = json!({"c": "{\"a\": \"1\", \"l\": [1, 2]}"});
        assert_eq!(
            eval("jsonpath(c, '$.a')", &env, Mode::Expr).unwrap(),
            json!("1")
        );
        assert_eq!(
            eval("jsonpath(c, '$.l[1]')", &env, Mode::Expr).unwrap(),
            json!(2)
        );
        assert_eq!(
            eval("jsonpath(c, '$.l[*]')", &env, Mode::Expr).unwrap(),
            json!([1, 2])
        );
        let env = json!({"c": r#"{"e": [{"n": "B", "a": 43}, {"n": "M", "a": 42}, {"n": "J", "a": 44}]}"#});
        let q = |p: &str| eval(&format!("jsonpath(c, '{p}')"), &env, Mode::Expr).unwrap();
        assert_eq!(q(r#"$.e[?(@.n=="B")].a"#), json!([43]));
        assert_eq!(q("$.e[?(@.a>42 && @.a<44)].a"), json!([43]));
        assert_eq!(q("$.e[0:1]"), json!([{"n": "B", "a": 43}]));
        assert_eq!(q("$.e[*].n"), json!(["B", "M", "J"]));
    }
}
