//! `http` templates as `HTTP` nodes: the engine sends the request itself (as Argo's agent
//! does), `outputs.result` is the response body, and the node succeeds on a 2xx status or,
//! with `successCondition`, when that expression holds over `request` and `response`
//! (`statusCode`, `body`, `headers` as lists of values by canonical name).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{Call, Outcome, RunCtx};
use crate::error::EngineError;
use crate::expr::{self, Mode};
use crate::model::Http;
use crate::state::NewNode;
use crate::status::{NodeInputs, NodeOutputs, NodeType, Phase};
use crate::template::Scope;

/// The response as the success condition sees it.
struct Response {
    status: u16,
    body: String,
    headers: Map<String, Value>,
}

pub async fn run(
    ctx: &Arc<RunCtx>,
    name: &str,
    display: &str,
    call: &Call,
    inputs: Option<NodeInputs>,
    scope: Scope,
) -> Outcome {
    let id = ctx.id(name);
    // Suspended (`argo suspend`): the request waits for the resume, as the agent pod would.
    ctx.resumes.wait_workflow().await;
    ctx.shared.create_node(NewNode {
        id: &id,
        name,
        display,
        node_type: NodeType::Http,
        template: Some(&call.resolved.template.name),
        boundary: call.boundary.as_deref(),
        phase: Phase::Running,
        message: None,
    });
    if inputs.is_some() {
        ctx.shared.with_node(&id, |n| n.inputs = inputs);
    }
    let prepared = request_of(call, &scope).and_then(|h| build(&h).map(|req| (h, req)));
    let (phase, message, result) = match prepared {
        Ok((h, req)) => match send(req).await {
            Ok(r) => {
                let (phase, message) = judge(&h, &r);
                (phase, message, Some(r.body))
            }
            // Argo's agent fails the node with the error of a request that got no answer.
            Err(e) => (Phase::Failed, Some(e), None),
        },
        Err(e) => (Phase::Error, Some(e.to_string()), None),
    };
    let outputs = NodeOutputs {
        result,
        ..Default::default()
    };
    let recorded = outputs.clone();
    ctx.shared.with_node(&id, |n| {
        n.outputs = (!recorded.is_empty()).then_some(recorded);
    });
    ctx.shared.finish(&id, phase, message.clone());
    Outcome {
        outputs,
        ..Outcome::new(&id, phase, message)
    }
}

/// The template's `http` with its `{{…}}` tags substituted.
fn request_of(call: &Call, scope: &Scope) -> Result<Http, EngineError> {
    let raw = call
        .resolved
        .template
        .http
        .as_ref()
        .ok_or_else(|| EngineError::Internal("not an http template".into()))?;
    let mut v = serde_json::to_value(raw).map_err(|e| EngineError::Internal(e.to_string()))?;
    scope.substitute_value(&mut v)?;
    serde_json::from_value(v).map_err(|e| EngineError::Invalid(format!("http: {e}")))
}

fn timeout_of(h: &Http) -> Result<Option<Duration>, EngineError> {
    let Some(v) = &h.timeout_seconds else {
        return Ok(None);
    };
    let text = crate::model::value_to_string(v);
    text.parse::<u64>()
        .map(|s| Some(Duration::from_secs(s)))
        .map_err(|_| EngineError::Invalid(format!("http.timeoutSeconds: `{text}` is not a number")))
}

fn body_of(h: &Http) -> Result<Vec<u8>, EngineError> {
    match (&h.body, h.body_from.as_ref().and_then(|b| b.bytes.as_ref())) {
        (Some(b), _) => Ok(b.clone().into_bytes()),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| EngineError::Invalid(format!("http.bodyFrom.bytes: not base64: {e}"))),
        (None, None) => Ok(Vec::new()),
    }
}

/// The request of `h`, ready to send.
fn build(h: &Http) -> Result<reqwest::RequestBuilder, EngineError> {
    let method = h.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| EngineError::unsupported("http.method", format!("`{method}`")))?;
    let mut builder = reqwest::Client::builder()
        .danger_accept_invalid_certs(h.insecure_skip_verify == Some(true));
    if let Some(t) = timeout_of(h)? {
        builder = builder.timeout(t);
    }
    let client = builder
        .build()
        .map_err(|e| EngineError::Internal(format!("http client: {e}")))?;
    let mut req = client.request(method, &h.url).body(body_of(h)?);
    for header in &h.headers {
        req = req.header(&header.name, header.value.clone().unwrap_or_default());
    }
    Ok(req)
}

/// Sends `req`; the response, or why none came.
async fn send(req: reqwest::RequestBuilder) -> Result<Response, String> {
    // The error names the URL, never the headers (they may carry credentials).
    let failed = |e: reqwest::Error| error_chain(&e);
    let resp = req.send().await.map_err(failed)?;
    let status = resp.status().as_u16();
    let mut headers = Map::new();
    for (k, v) in resp.headers() {
        let values = headers
            .entry(canonical(k.as_str()))
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = values {
            list.push(Value::String(
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ));
        }
    }
    let body = resp.text().await.map_err(failed)?;
    Ok(Response {
        status,
        body,
        headers,
    })
}

/// `e` and its causes (reqwest's own text alone says only "error sending request").
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Go's canonical header name (`content-type` → `Content-Type`), as Argo's expressions see it.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The node's phase and message for response `r`, as Argo's agent decides them.
fn judge(h: &Http, r: &Response) -> (Phase, Option<String>) {
    let Some(cond) = &h.success_condition else {
        return if (200..300).contains(&r.status) {
            (Phase::Succeeded, None)
        } else {
            let msg = format!("received non-2xx response code: {}", r.status);
            (Phase::Failed, Some(msg))
        };
    };
    let headers: Map<String, Value> = h
        .headers
        .iter()
        .map(|x| (x.name.clone(), json!([x.value.clone().unwrap_or_default()])))
        .collect();
    let env = json!({
        "request": {
            "method": h.method.clone().unwrap_or_default(),
            "url": h.url,
            "body": h.body.clone().unwrap_or_default(),
            "headers": headers,
        },
        "response": {
            "statusCode": r.status,
            "body": r.body,
            "headers": r.headers,
        },
    });
    match expr::eval_bool(cond, &env, Mode::Expr) {
        Ok(true) => (Phase::Succeeded, None),
        Ok(false) => (
            Phase::Failed,
            Some(format!("successCondition '{cond}' evaluated false")),
        ),
        Err(e) => (Phase::Failed, Some(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn header_names_are_canonical_as_in_go() {
        assert_eq!(canonical("content-type"), "Content-Type");
        assert_eq!(canonical("server"), "Server");
        assert_eq!(canonical("x-REQUEST-id"), "X-Request-Id");
    }
}
