//! Kubernetes' `$(VAR)` expansion of a container's `command` and `args` with the variables
//! of its environment: `$(NAME)` becomes the value when the variable is defined and stays as
//! written when not, `$$` is a literal `$` (so `$$(NAME)` is `$(NAME)`). Hand-written: it is
//! the few lines of k8s.io/kubernetes third_party/forked/golang/expansion, which no crate has.

/// Expands `text` with `env` (a later definition of a name wins, as in a pod spec).
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    if !text.contains('$') {
        return text.to_owned();
    }
    let lookup = |name: &str| env.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(open) = after.strip_prefix('(') {
            match open.find(')') {
                Some(close) => {
                    let name = &open[..close];
                    match lookup(name) {
                        Some(value) => out.push_str(value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &open[close + 1..];
                }
                // No closing parenthesis: the rest is literal.
                None => {
                    out.push_str("$(");
                    rest = open;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        vec![
            ("MSG".into(), "hello".into()),
            ("MSG".into(), "hi".into()),
            ("EMPTY".into(), String::new()),
        ]
    }

    #[test]
    fn defined_variables_expand_and_others_stay() {
        assert_eq!(expand("say $(MSG)!", &env()), "say hi!");
        assert_eq!(expand("[$(EMPTY)]", &env()), "[]");
        assert_eq!(expand("$(UNSET) $MSG", &env()), "$(UNSET) $MSG");
        assert_eq!(expand("$$(MSG) costs $$5", &env()), "$(MSG) costs $5");
        assert_eq!(expand("open $(MSG", &env()), "open $(MSG");
        assert_eq!(expand("end $", &env()), "end $");
    }
}
