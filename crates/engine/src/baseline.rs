//! What a benchmark compares the engine against: the very command line a node runs under
//! (the same sandbox script), for a shell baseline to start the same processes without the
//! engine around them.

use std::ffi::OsString;
use std::path::Path;

use crate::error::EngineError;
use crate::run::Engine;

impl Engine {
    /// The argv a sandboxed node of a run in `run_dir` runs `argv` with: its working dir and
    /// `/tmp` are `<run_dir>/work/baseline` and `<run_dir>/tmp/baseline` (made here), shared
    /// by every process started with it. `None` where nodes get no sandbox.
    pub fn sandboxed_argv(
        &self,
        run_dir: &Path,
        argv: &[String],
    ) -> Result<Option<Vec<OsString>>, EngineError> {
        let Some((kind, plan)) = self.plan(run_dir, &[]) else {
            return Ok(None);
        };
        let (work, tmp) = (run_dir.join("work/baseline"), run_dir.join("tmp/baseline"));
        for dir in [
            &work,
            &tmp,
            &run_dir.join("sandbox"),
            &run_dir.join("scripts"),
        ] {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        // The run's own dirs belong to the step user, as a node's do.
        if let Some(user) = &plan.user {
            for dir in [&work, &tmp] {
                std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
                    .map_err(|e| EngineError::io(dir, e))?;
            }
        }
        let command = plan.command(kind, (&work, &tmp, &work), argv, (&[], None));
        let mut line = vec![command.get_program().to_owned()];
        line.extend(command.get_args().map(ToOwned::to_owned));
        Ok(Some(line))
    }
}
