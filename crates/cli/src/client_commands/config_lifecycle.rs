//! `polyphemus configs restore|archive|unarchive`: acting on a config's history.

use super::output::{emit, print_json};
use super::Context;
use polyphemus_model::{ConfigId, VersionNumber};

pub async fn restore(
    context: &Context,
    config_id: ConfigId,
    version: VersionNumber,
) -> anyhow::Result<()> {
    let config = context
        .client
        .restore_config_version(&context.project, config_id, version)
        .await?;
    if context.json() {
        return print_json(&config);
    }
    emit(&format!(
        "restored version {version} of config {config_id} as version {}",
        config.version_number
    ))
}

pub async fn set_archived(
    context: &Context,
    config_id: ConfigId,
    archived: bool,
) -> anyhow::Result<()> {
    let archive = context
        .client
        .set_config_archived(&context.project, config_id, archived)
        .await?;
    if context.json() {
        return print_json(&archive);
    }
    if archive.archived {
        emit(&format!(
            "archived config {config_id}: hidden from status, its schedule is off, launching \
             it is refused (`polyphemus configs unarchive {config_id}` brings it back)"
        ))
    } else {
        emit(&format!("unarchived config {config_id}"))
    }
}
