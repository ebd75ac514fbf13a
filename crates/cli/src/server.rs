//! Server-side commands: `serve`, `migrate`, `token`, `prune`. They open the store directly.

mod argo_args;
mod http_args;
mod limit_args;
mod oidc_args;
mod packages;
mod prune;
mod sandbox_args;
mod tokens;

pub use argo_args::ArgoArgs;
pub use http_args::HttpArgs;
pub use limit_args::LimitArgs;
pub use oidc_args::OidcArgs;
pub use packages::PackageArgs;
pub use prune::{prune, PruneArgs, PruneIntervalArgs};
pub use sandbox_args::SandboxArgs;
pub use tokens::{token, TokenCommand};

use crate::settings::{GlobalArgs, LogFormat};
use anyhow::{bail, Context};
use clap::Args;
use polyphemus_core::orchestrators::argo::ArgoOrchestrator;
use polyphemus_core::orchestrators::local::LocalOrchestrator;
use polyphemus_core::orchestrators::Orchestrator;
use polyphemus_core::scheduler::Scheduler;
use polyphemus_core::{SecretKeys, Services};
use polyphemus_model::Role;
use polyphemus_store::{Store, StoreOptions};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "POLYPHEMUS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where runs execute: `local` (the embedded engine, child processes of this server) or
    /// `argo` (Argo Workflows through Argo Server; see the --argo-* options).
    #[arg(long, env = "POLYPHEMUS_ORCHESTRATOR", default_value = "local", value_parser = ["local", "argo"])]
    pub orchestrator: String,
    #[command(flatten)]
    pub argo: ArgoArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
    /// URL at which workflow steps reach this server (default: http://<listen address>).
    #[arg(long, env = "POLYPHEMUS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Do not run the scheduler in this process (run `polyphemus scheduler` elsewhere).
    #[arg(long)]
    pub no_scheduler: bool,
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub pruning: PruneIntervalArgs,
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// Server log lines on stderr: `text`, or `json` (one object per line, for collectors).
    #[arg(long, env = "POLYPHEMUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Seconds between two looks for due runtime configs.
    #[arg(long, env = "POLYPHEMUS_SCHEDULER_TICK_S", default_value_t = 10)]
    pub scheduler_tick_s: u64,
}

#[derive(Debug, Args)]
pub struct SchedulerCommandArgs {
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
    /// URL at which workflow steps reach the API server (default: --url).
    #[arg(long, env = "POLYPHEMUS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where runs execute, as for `serve`.
    #[arg(long, env = "POLYPHEMUS_ORCHESTRATOR", default_value = "local", value_parser = ["local", "argo"])]
    pub orchestrator: String,
    #[command(flatten)]
    pub argo: ArgoArgs,
    #[command(flatten)]
    pub packages: PackageArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Log lines on stderr: `text`, or `json` (one object per line).
    #[arg(long, env = "POLYPHEMUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Creates the data dir (0700) when the embedded default uses it.
fn ensure_data_dir(global: &GlobalArgs) -> anyhow::Result<()> {
    if global.is_postgres() {
        return Ok(());
    }
    std::fs::create_dir_all(&global.data_dir)
        .with_context(|| format!("creating data dir {}", global.data_dir.display()))?;
    restrict_permissions(&global.data_dir, 0o700)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// Writes a new file readable only by its owner; fails if it exists.
fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The secret key: `POLYPHEMUS_SECRET_KEY`, else `<data dir>/secret.key` (created on first use
/// by the embedded default; PostgreSQL deployments must set the variable).
fn load_keys(global: &GlobalArgs) -> anyhow::Result<SecretKeys> {
    if let Some(encoded) = &global.secret_key {
        return SecretKeys::from_base64(encoded).context("POLYPHEMUS_SECRET_KEY");
    }
    let path = global.secret_key_path();
    if !path.exists() {
        if global.is_postgres() {
            bail!(
                "POLYPHEMUS_SECRET_KEY is not set: a PostgreSQL deployment needs it \
                 (base64 of 32 random bytes, e.g. `head -c32 /dev/urandom | base64`)"
            );
        }
        write_private_file(&path, &SecretKeys::generate_base64())?;
        tracing::info!(path = %path.display(), "created a new secret key");
    }
    let encoded = std::fs::read_to_string(&path)
        .with_context(|| format!("reading secret key {}", path.display()))?;
    SecretKeys::from_base64(&encoded).with_context(|| format!("secret key {}", path.display()))
}

async fn open_store(global: &GlobalArgs) -> anyhow::Result<Store> {
    ensure_data_dir(global)?;
    let store = Store::connect(&global.database_url(), &StoreOptions::default())
        .await
        .context("connecting to the store")?;
    store.migrate().await.context("migrating the store")?;
    Ok(store)
}

/// The services over the store, with the workflow packages (reloaded on SIGHUP).
async fn open_services(global: &GlobalArgs, packages: &PackageArgs) -> anyhow::Result<Services> {
    let registry = packages.registry()?;
    let store = open_store(global).await?;
    let keys = load_keys(global)?;
    let services = Services::new(store, registry, keys)
        .with_jobs(polyphemus_jobs::job_specs())
        .with_package_dirs(packages.workflows_dirs.clone());
    packages::reload_on_hangup(services.clone());
    Ok(services)
}

pub async fn migrate(global: &GlobalArgs) -> anyhow::Result<()> {
    open_store(global).await?;
    println!("store migrated: {}", redact_url(&global.database_url()));
    Ok(())
}

/// Keeps other processes of this user from reading this one's memory and `/proc/<pid>/environ`
/// (which still holds the variables `scrub_environment` removed: the kernel keeps the block
/// the process started with). Steps of the local engine also see none of the server's /proc:
/// they have their own PID namespace.
fn forbid_inspection() {
    #[cfg(target_os = "linux")]
    if let Err(error) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(%error, "cannot make the server non-dumpable");
    }
}

pub async fn serve(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    forbid_inspection();
    let services = args
        .limits
        .apply(open_services(global, &args.packages).await?)?;
    let services = args.oidc.apply(services)?;
    let ui_settings = args.oidc.ui_settings()?;
    ensure_admin_token(global, &services).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{address}"));
    let services = with_orchestrator(
        global,
        services,
        &args.orchestrator,
        &args.argo,
        public_url,
        &args.sandbox,
    )?;
    let recovery = services
        .recover_runs()
        .await
        .map_err(|e| anyhow::anyhow!("settling runs left unfinished: {e}"))?;
    if recovery.interrupted > 0 {
        println!(
            "{} run(s) interrupted by the last stop are now marked Error",
            recovery.interrupted
        );
    }
    if recovery.settled + recovery.not_ours > 0 {
        println!("{recovery}");
    }
    if !args.no_scheduler {
        let scheduler = Scheduler::new(
            services.clone(),
            Duration::from_secs(args.scheduler.scheduler_tick_s.max(1)),
        );
        tokio::spawn(scheduler.run(shutdown_signal()));
        let every = Duration::from_secs(args.scheduler.scheduler_tick_s.max(1));
        tokio::spawn(polyphemus_core::services::run_cron_workflows(
            services.clone(),
            every,
            shutdown_signal(),
        ));
    }
    if args.pruning.prune_interval_s > 0 {
        let every = Duration::from_secs(args.pruning.prune_interval_s);
        let pruner = services.pruner(prune::run_dirs(
            global,
            args.sandbox.artifact_repository.as_deref(),
        ));
        tokio::spawn(pruner.run(every, shutdown_signal()));
    }
    tracing::info!(%address, store = %redact_url(&global.database_url()), "serving");
    println!("polyphemus listening on http://{address}");
    polyphemus_api::serve(
        listener,
        app_with(services, ui_settings),
        args.http.options(),
        shutdown_signal(),
    )
    .await
    .context("serving HTTP")?;
    Ok(())
}

/// What the server serves: the API, with the web UI mounted at `/` over the same services
/// and access rules.
pub fn app(services: Services) -> axum::Router {
    app_with(services, polyphemus_ui::UiSettings::default())
}

/// The API and the UI with these sign-in settings.
pub fn app_with(services: Services, ui: polyphemus_ui::UiSettings) -> axum::Router {
    let ui = polyphemus_ui::router_with(services.clone(), ui);
    polyphemus_api::app_with(services, ui)
}

/// The orchestrator `--orchestrator` names.
fn with_orchestrator(
    global: &GlobalArgs,
    services: Services,
    kind: &str,
    argo: &ArgoArgs,
    public_url: String,
    sandbox: &SandboxArgs,
) -> anyhow::Result<Services> {
    if kind != "argo" {
        return with_local_orchestrator(global, services, public_url, sandbox);
    }
    let orchestrator = ArgoOrchestrator::new(argo.settings()?)?;
    tracing::info!(?orchestrator, "runs go to Argo");
    let orchestrator: Arc<dyn Orchestrator> = Arc::new(orchestrator);
    Ok(services.with_orchestrator(orchestrator))
}

/// Runs execute here, with the embedded engine, under `<data dir>/runs`.
fn with_local_orchestrator(
    global: &GlobalArgs,
    services: Services,
    public_url: String,
    sandbox: &SandboxArgs,
) -> anyhow::Result<Services> {
    let work_dir = global.data_dir.join("runs");
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("creating the run directory {}", work_dir.display()))?;
    // Steps run in their own working directories: their paths must not be relative.
    let work_dir = work_dir
        .canonicalize()
        .with_context(|| format!("resolving the run directory {}", work_dir.display()))?;
    // Claims survive runs: beside the run directories, not in them.
    let volumes = global.data_dir.join("volumes");
    std::fs::create_dir_all(&volumes)
        .with_context(|| format!("creating the volumes directory {}", volumes.display()))?;
    let volumes = volumes
        .canonicalize()
        .with_context(|| format!("resolving the volumes directory {}", volumes.display()))?;
    let orchestrator = LocalOrchestrator::new(work_dir, public_url)
        .with_sandbox(sandbox.settings(global)?)
        .with_k8s(sandbox.k8s_objects(global)?, volumes)
        .with_max_backoff(sandbox.engine_max_backoff)
        .with_artifact_repository(sandbox_args::artifact_repository(
            global,
            sandbox.artifact_repository.as_deref(),
        )?)
        .with_memo_caches(services.memo_caches());
    println!("{}", orchestrator.sandbox_summary());
    Ok(services.with_orchestrator(Arc::new(orchestrator)))
}

/// `polyphemus scheduler`: the scheduler alone, until SIGINT/SIGTERM.
pub async fn scheduler(global: &GlobalArgs, args: SchedulerCommandArgs) -> anyhow::Result<()> {
    global.require_data_dir()?;
    let services = args
        .limits
        .apply(open_services(global, &args.packages).await?)?;
    let public_url = args.public_url.unwrap_or_else(|| global.url.clone());
    let services = with_orchestrator(
        global,
        services,
        &args.orchestrator,
        &args.argo,
        public_url,
        &args.sandbox,
    )?;
    let tick = Duration::from_secs(args.scheduler.scheduler_tick_s.max(1));
    println!("scheduler running (tick {}s)", tick.as_secs());
    tokio::spawn(polyphemus_core::services::run_cron_workflows(
        services.clone(),
        tick,
        shutdown_signal(),
    ));
    Scheduler::new(services, tick).run(shutdown_signal()).await;
    Ok(())
}

/// On first start, writes an admin token (all projects) to `<data dir>/admin.token`.
async fn ensure_admin_token(global: &GlobalArgs, services: &Services) -> anyhow::Result<()> {
    let path = global.admin_token_path();
    if path.exists() {
        println!("admin token: {}", path.display());
        return Ok(());
    }
    std::fs::create_dir_all(&global.data_dir)?;
    let roles = BTreeMap::from([("*".to_owned(), Role::Admin)]);
    let issued = services
        .tokens
        .issue_user("admin", roles, chrono::Duration::days(3650))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    write_private_file(&path, &issued.token)?;
    println!("admin token written to {} (mode 0600)", path.display());
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Hides a password in a database URL before it is printed or logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://me:pw@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
    }
}
