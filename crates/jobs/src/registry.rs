//! The jobs `polyphemus run_job <workflow> <job>` runs, found by name alone: every job runs in
//! any workflow type. Each declares the config keys and secrets it reads ([`job_specs`]), which
//! `workflows validate` holds a package's config schema to.

use crate::{CopyToSftp, CopyToStorage, EtlJob, NotifyWebhook, SftpDiscover};
use polyphemus_model::{JobSpec, SecretName};
use serde_json::{json, Value};

/// The job called `name`, if there is one.
pub fn find_job(name: &str) -> Option<Box<dyn EtlJob>> {
    match name {
        "sftp_discover" => Some(Box::new(SftpDiscover)),
        "copy_to_storage" => Some(Box::new(CopyToStorage)),
        "copy_to_sftp" => Some(Box::new(CopyToSftp)),
        "notify_webhook" => Some(Box::new(NotifyWebhook::default())),
        _ => None,
    }
}

/// The names of every job, for messages.
pub fn job_names() -> Vec<String> {
    job_specs().into_iter().map(|spec| spec.name).collect()
}

/// What each job reads: config keys as a JSON Schema fragment, and secrets.
pub fn job_specs() -> Vec<JobSpec> {
    vec![
        spec(
            "sftp_discover",
            "Lists new or changed files on an SFTP server into the run's state (files).",
            json!({
                "type": "object",
                "required": ["host", "username", "host_key_fingerprint", "root"],
                "properties": sftp_properties(&["root", "recursive", "file_regex", "min_age_s"]),
            }),
            &["password", "private_key"],
        ),
        spec(
            "copy_to_storage",
            "Copies the files sftp_discover found from SFTP to object storage, streaming and checksummed.",
            json!({
                "type": "object",
                "required": ["host", "username", "host_key_fingerprint", "root", "bucket"],
                "properties": sftp_properties(&[
                    "root", "storage_url", "bucket", "prefix", "region", "storage_access_key_id",
                ]),
            }),
            &["password", "private_key", "storage_secret_key"],
        ),
        spec(
            "copy_to_sftp",
            "Copies the files sftp_discover found from SFTP to a second SFTP host, each written \
             under a temporary name and renamed when complete.",
            json!({
                "type": "object",
                "required": [
                    "host", "username", "host_key_fingerprint", "root",
                    "deposit_host", "deposit_username", "deposit_host_key_fingerprint",
                    "deposit_root",
                ],
                "properties": sftp_properties(&[
                    "root", "deposit_host", "deposit_port", "deposit_username",
                    "deposit_host_key_fingerprint", "deposit_root",
                ]),
            }),
            &["password", "private_key", "deposit_password", "deposit_private_key"],
        ),
        spec(
            "notify_webhook",
            "Posts the run's summary, with a Slack-compatible text and blocks, to the secret \
             webhook_url; skipped when it is not set.",
            json!({
                "type": "object",
                "properties": {
                    "webhook_url": {"type": "string"},
                    "webhook_format": {"type": "string", "enum": ["auto", "slack", "json"]},
                },
            }),
            &["webhook_url"],
        ),
    ]
}

fn spec(name: &str, description: &str, config_schema: Value, secrets: &[&str]) -> JobSpec {
    JobSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        config_schema,
        // Written here; a unit test rules out a bad name.
        secrets: secrets
            .iter()
            .filter_map(|secret| SecretName::parse(*secret).ok())
            .collect(),
    }
}

/// The SFTP connection keys every SFTP job reads, and `more` of the job's own.
fn sftp_properties(more: &[&str]) -> Value {
    let types: &[(&str, &str)] = &[
        ("host", "string"),
        ("port", "integer"),
        ("username", "string"),
        ("host_key_fingerprint", "string"),
        ("root", "string"),
        ("recursive", "boolean"),
        ("file_regex", "string"),
        ("min_age_s", "integer"),
        ("storage_url", "string"),
        ("bucket", "string"),
        ("prefix", "string"),
        ("region", "string"),
        ("storage_access_key_id", "string"),
        ("deposit_host", "string"),
        ("deposit_port", "integer"),
        ("deposit_username", "string"),
        ("deposit_host_key_fingerprint", "string"),
        ("deposit_root", "string"),
    ];
    let wanted = ["host", "port", "username", "host_key_fingerprint"]
        .iter()
        .chain(more);
    let properties = wanted
        .filter_map(|key| types.iter().find(|(name, _)| name == key))
        .map(|(name, kind)| ((*name).to_owned(), json!({ "type": kind })))
        .collect();
    Value::Object(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_has_a_spec_and_every_spec_a_job() {
        let specs = job_specs();
        for spec in &specs {
            let job = find_job(&spec.name).expect("a job for each spec");
            assert_eq!(job.name(), spec.name);
            let required = spec.config_schema["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for key in required {
                let key = key.as_str().expect("key");
                assert!(
                    spec.config_schema["properties"].get(key).is_some(),
                    "{}: {key}",
                    spec.name
                );
            }
        }
        let secrets: usize = specs.iter().map(|spec| spec.secrets.len()).sum();
        assert_eq!(secrets, 10, "every secret name written here parses");
        assert!(find_job("nope").is_none());
    }
}
