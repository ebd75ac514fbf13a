//! A run's node logs as text (`GET …/runs/{run_id}/logs`), read piece by piece when followed.

use crate::{error, set_query, Client, Error, Result};
use polyphemus_model::{ProjectName, RunId};

/// The longest a followed log is read.
const FOLLOW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// The answer of a logs request, read as the server sends it.
pub struct RunLogs {
    response: reqwest::Response,
    url: String,
}

impl Client {
    /// The run's node logs (`node`: one node, by name or display name). With `follow`, the
    /// answer goes on while the run does: read it with [`RunLogs::next_piece`]. Not retried.
    pub async fn run_logs(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        node: Option<&str>,
        follow: bool,
    ) -> Result<RunLogs> {
        let mut url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "logs",
        ]);
        set_query(
            &mut url,
            [
                ("node", node.map(str::to_owned)),
                ("follow", follow.then(|| "true".to_owned())),
            ],
        );
        let mut request = self.http.get(url.clone());
        if follow {
            // The client's 60 s limit is for requests; a follow lasts as long as the run.
            request = request.timeout(FOLLOW_TIMEOUT);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let transport = |source| Error::Transport {
            url: url.to_string(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.map_err(transport)?;
            return Err(Error::Api {
                status: status.as_u16(),
                problem: error::parse_problem(status.as_u16(), &body),
            });
        }
        Ok(RunLogs {
            response,
            url: url.to_string(),
        })
    }
}

impl RunLogs {
    /// The next piece of text, `None` once the server ended the answer.
    pub async fn next_piece(&mut self) -> Result<Option<String>> {
        let chunk = self
            .response
            .chunk()
            .await
            .map_err(|source| Error::Transport {
                url: self.url.clone(),
                source,
            })?;
        Ok(chunk.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }
}
