//! A ClickHouse server of a test's own, run by `scripts/clickhouse-instance.sh`, for
//! tests that kill, stop or freeze the server: each test starts its instance on its own
//! port, so tests run in parallel, and the shared server on 8123 is never touched.
//!
//! The instance is created fresh (its data removed) and killed when the [`Instance`] is
//! dropped, also when the test fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A running ClickHouse instance; killed on drop.
#[derive(Debug)]
pub struct Instance {
    name: String,
    port: u16,
}

fn script() -> PathBuf {
    // This crate lives in `tests/support/` of the repository.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/clickhouse-instance.sh")
}

/// Runs the script, failing the test with its output when it fails.
fn run(args: &[&str]) {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    assert!(
        out.status.success(),
        "scripts/clickhouse-instance.sh {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Instance {
    /// Removes what instance `name` left behind, then starts it on `port` (HTTP;
    /// `port + 1` and `port + 2` are taken too).
    pub async fn fresh(name: &str, port: u16) -> Instance {
        let instance = Instance {
            name: name.to_owned(),
            port,
        };
        instance.script(&["destroy"]).await;
        instance.start().await;
        instance
    }

    async fn script(&self, command: &[&str]) {
        let mut args: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
        args.insert(1, self.name.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args);
        })
        .await
        .unwrap();
    }

    /// Starts the instance (again), with the data it had.
    pub async fn start(&self) {
        self.script(&["start", &self.port.to_string()]).await;
    }

    /// Shuts the server down (SIGTERM) and waits for it to exit; kills it if it still
    /// runs after `patience` (it keeps answering on open keep-alive connections).
    /// Returns whether it exited on its own.
    pub async fn stop(&self, patience: Duration) -> bool {
        let name = self.name.clone();
        let secs = patience.as_secs().max(1).to_string();
        tokio::task::spawn_blocking(move || {
            let out = Command::new("bash")
                .arg(script())
                .args(["stop", &name])
                .env("CLICKHOUSE_STOP_TIMEOUT", secs)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            !stderr.contains("killing it")
        })
        .await
        .unwrap()
    }

    /// Kills the server (SIGKILL).
    pub async fn kill(&self) {
        self.script(&["kill"]).await;
    }

    /// Stops the server's process (SIGSTOP): connections are accepted by the kernel,
    /// nothing is answered.
    pub async fn freeze(&self) {
        self.script(&["freeze"]).await;
    }

    /// Lets a frozen server run again (SIGCONT).
    pub async fn thaw(&self) {
        self.script(&["thaw"]).await;
    }

    /// The server's HTTP URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of the server, in its `default` database (without the crate's row
    /// validation, which 18.16 cannot answer).
    pub fn client(&self) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(self.url())
            .with_validation(false)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SIGKILL ends a frozen server too. Not `run`: a panic while unwinding aborts.
        let _ = Command::new("bash")
            .arg(script())
            .args(["kill", &self.name])
            .output();
    }
}
