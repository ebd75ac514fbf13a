//! `serve`'s HTTP limits (see `polyphemus_api::serve` for what each bounds).

use clap::Args;
use polyphemus_api::ServeOptions;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Seconds a client has to send a request's head; also the longest a kept-alive
    /// connection may wait for its next request.
    #[arg(long, env = "POLYPHEMUS_HEADER_TIMEOUT_S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_s: u64,
    /// Seconds a connection may move no byte while none of its requests is being handled
    /// (and a request body may send nothing) before it is closed.
    #[arg(long, env = "POLYPHEMUS_IDLE_TIMEOUT_S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_s: u64,
    /// Connections served at once; further ones wait to be accepted.
    #[arg(long, env = "POLYPHEMUS_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl HttpArgs {
    pub fn options(&self) -> ServeOptions {
        ServeOptions {
            header_timeout: Duration::from_secs(self.header_timeout_s),
            idle_timeout: Duration::from_secs(self.idle_timeout_s),
            max_connections: self.max_connections as usize,
        }
    }
}
