//! What one run costs: wall time, the client's CPU (getrusage of this process, and of
//! the children it waited for: curl, psql), the server's CPU (`/proc/<pid>/stat`), and
//! peak RSS.

use std::time::Instant;

use nix::sys::resource::{getrusage, Usage, UsageWho};
use nix::sys::time::TimeValLike;

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// The server processes whose CPU a run is charged.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Server {
    /// `clickhouse-server`: one process, all its threads.
    ClickHouse(u32),
    /// The postmaster, and the processes it forked: backends, walwriter,
    /// checkpointer... A backend that exited is counted in the postmaster's `cutime`.
    Postgres(u32),
}

impl Server {
    /// User and system CPU seconds used so far.
    fn cpu(self) -> f64 {
        match self {
            Server::ClickHouse(pid) => stat(pid).map_or(0.0, |s| s.cpu),
            Server::Postgres(postmaster) => {
                let mut total = stat(postmaster).map_or(0.0, |s| s.cpu + s.children_cpu);
                for entry in std::fs::read_dir("/proc")
                    .expect("/proc is readable")
                    .flatten()
                {
                    let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                        continue;
                    };
                    if let Some(s) = stat(pid).filter(|s| s.ppid == postmaster) {
                        total += s.cpu + s.children_cpu;
                    }
                }
                total
            }
        }
    }
}

struct Stat {
    ppid: u32,
    cpu: f64,
    children_cpu: f64,
}

/// Fields of `/proc/<pid>/stat`; `None` when the process is gone.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) follow the last `)`.
    let rest = text.get(text.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 4 (ppid) and 14 to 17 (utime, stime, cutime, cstime) of the line.
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        cpu: (num(11) + num(12)) / TICKS,
        children_cpu: (num(13) + num(14)) / TICKS,
    })
}

fn seconds(u: &Usage) -> f64 {
    user_seconds(u) + u.system_time().num_microseconds() as f64 / 1e6
}

fn user_seconds(u: &Usage) -> f64 {
    u.user_time().num_microseconds() as f64 / 1e6
}

fn usage(who: UsageWho) -> Usage {
    getrusage(who).expect("getrusage")
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    at: Instant,
    own_cpu: f64,
    children_cpu: f64,
    /// The user-time part of `own_cpu + children_cpu`.
    user_cpu: f64,
    /// Minor page faults of this process and of the children it waited for.
    faults: u64,
    server_cpu: f64,
}

impl Snapshot {
    pub(crate) fn take(server: Server) -> Self {
        let own = usage(UsageWho::RUSAGE_SELF);
        let children = usage(UsageWho::RUSAGE_CHILDREN);
        let faults = |u: &Usage| u64::try_from(u.minor_page_faults()).unwrap_or(0);
        Snapshot {
            at: Instant::now(),
            own_cpu: seconds(&own),
            children_cpu: seconds(&children),
            user_cpu: user_seconds(&own) + user_seconds(&children),
            faults: faults(&own) + faults(&children),
            server_cpu: server.cpu(),
        }
    }
}

/// What one run cost, as the child process reports it to the driver.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    pub(crate) wall_s: f64,
    /// This process and the children it waited for (curl, psql).
    pub(crate) client_cpu_s: f64,
    /// The part of `client_cpu_s` spent in user space; the rest is the kernel's (system
    /// calls, page faults).
    pub(crate) client_user_s: f64,
    /// Minor page faults of this process and the children it waited for: the kernel's
    /// work of handing out fresh memory, which counts the same from run to run.
    pub(crate) client_faults: u64,
    pub(crate) server_cpu_s: f64,
    /// Peak RSS of the inserting process (this one, or the tool it ran), in KiB.
    pub(crate) peak_rss_kib: u64,
}

impl Figures {
    pub(crate) fn between(before: Snapshot, after: Snapshot, external: bool) -> Self {
        let peak_rss_kib = if external {
            // ru_maxrss of the largest child waited for, in KiB on Linux.
            u64::try_from(usage(UsageWho::RUSAGE_CHILDREN).max_rss()).unwrap_or(0)
        } else {
            own_peak_rss_kib()
        };
        Figures {
            wall_s: after.at.duration_since(before.at).as_secs_f64(),
            client_cpu_s: (after.own_cpu - before.own_cpu)
                + (after.children_cpu - before.children_cpu),
            client_user_s: after.user_cpu - before.user_cpu,
            client_faults: after.faults.saturating_sub(before.faults),
            server_cpu_s: after.server_cpu - before.server_cpu,
            peak_rss_kib,
        }
    }

    /// One line on stdout, read back by the driver with [`Figures::parse`].
    pub(crate) fn line(&self) -> String {
        format!(
            "E2E-FIGURES {} {} {} {} {} {}",
            self.wall_s,
            self.client_cpu_s,
            self.server_cpu_s,
            self.peak_rss_kib,
            self.client_faults,
            self.client_user_s
        )
    }

    pub(crate) fn parse(output: &str) -> Option<Self> {
        let line = output
            .lines()
            .find_map(|l| l.strip_prefix("E2E-FIGURES "))?;
        let f: Vec<&str> = line.split_whitespace().collect();
        Some(Figures {
            wall_s: f.first()?.parse().ok()?,
            client_cpu_s: f.get(1)?.parse().ok()?,
            server_cpu_s: f.get(2)?.parse().ok()?,
            peak_rss_kib: f.get(3)?.parse().ok()?,
            client_faults: f.get(4)?.parse().ok()?,
            client_user_s: f.get(5)?.parse().ok()?,
        })
    }
}

/// VmHWM of this process, in KiB.
fn own_peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// The pid of the process listening on TCP `port` on this machine (found with `ss`).
pub(crate) fn listener_pid(port: u16) -> u32 {
    let out = std::process::Command::new("ss")
        .args(["-ltnpH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2), to find the server's process");
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text
        .find("pid=")
        .unwrap_or_else(|| panic!("no process listens on port {port} (is the server local?)"))
        + 4;
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a pid")
}

/// The port of a URL such as `http://host:8123/` or `postgres://u:p@host:5432/db`.
pub(crate) fn port_of(url: &str, default: u16) -> u16 {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(default)
}
