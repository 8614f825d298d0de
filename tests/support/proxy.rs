//! A TCP proxy the fault tests own, to cut connections between a client and a real
//! server at chosen moments.
//!
//! [`Proxy::start`] listens on `127.0.0.1` (an ephemeral port, [`Proxy::port`]) and
//! forwards every accepted connection to the upstream server. A test points its client
//! at the proxy instead of the server, and then injects faults:
//!
//! - [`Proxy::cut`] closes every open connection at once, wherever each one is.
//! - [`Proxy::truncate_requests`]: the next requests that contain a marker (the bytes
//!   `INSERT` of an HTTP request line, say) are forwarded only up to a given number of
//!   bytes counted from the marker ([`Truncation`]: exactly there, or at the end of the
//!   last read from the client before it, as a network failure between two packets
//!   would); then the connection is closed, so the server never receives the rest of
//!   the request.
//! - [`Proxy::drop_answers`]: the next requests that contain a marker (`COMMIT\0` of a
//!   PostgreSQL query, `INSERT` of an HTTP request) reach the server whole; its answer is
//!   dropped and the connection closed, so the server did the work but the client never
//!   learns it.
//!
//! - [`Proxy::stall`]: the next requests that contain a marker freeze their connection
//!   ([`Stall::Request`]: the request never reaches the server; [`Stall::Answer`]: it
//!   does, and the answer never reaches the client). Nothing more is forwarded either
//!   way, and neither socket is closed, even when the client closes its own: a network
//!   partition, as the server and the client each see it.
//! - [`Proxy::down`] and [`Proxy::up`]: an outage. Every open connection is closed and
//!   new ones are closed as soon as they are accepted, until `up`.
//!   [`Proxy::down_after_dropped_answer`] starts the outage at the moment an answer is
//!   dropped, so that whatever the client does next meets it.
//!
//! The counters ([`Proxy::truncated`], [`Proxy::answers_dropped`], [`Proxy::stalled`])
//! say how many faults happened, so a test can check that it really exercised them. The test then reads the
//! table back directly from the server, not through the proxy.
//!
//! The proxy stops by itself: it accepts at most [`MAX_CONNECTIONS`] connections and
//! forwards nothing after [`LIFETIME`]; dropping the [`Proxy`] stops it at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tokio::time::{timeout_at, Instant};

/// The most connections one proxy accepts.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long a proxy forwards anything after it started.
pub const LIFETIME: Duration = Duration::from_secs(300);

/// A TCP proxy in front of one server; see the module docs.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

/// What the proxy's tasks share.
#[derive(Default)]
struct Shared {
    /// The open connections' tasks.
    conns: Mutex<Vec<AbortHandle>>,
    faults: Mutex<Faults>,
    truncated: AtomicU32,
    answers_dropped: AtomicU32,
    stalled: AtomicU32,
    /// An outage: connections are closed as soon as they are accepted.
    down: AtomicBool,
    /// Start an outage when an answer is dropped.
    down_after_drop: AtomicBool,
}

/// Which half of a request's exchange a stalled connection loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// The request never reaches the server.
    Request,
    /// The request reaches the server whole; its answer never reaches the client.
    Answer,
}

/// Where a truncated request is cut, in bytes counted from the start of its marker.
///
/// A cut that would withhold only the end of a chunked body (a suffix of
/// `\r\n0\r\n\r\n`: the CRLF after the last chunk's data and the last chunk) is not
/// made: the server already has every byte of the data, and a server that takes a
/// cut-off body for a whole one (ClickHouse before 21.x) stores it, so such a cut is a
/// lost answer rather than a truncation. The request goes through whole, and the cut is
/// not counted in [`Proxy::truncated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// Exactly after this many bytes.
    At(usize),
    /// After the last whole read from the client that ends at most this many bytes in:
    /// the server receives what the client wrote in whole pieces (an HTTP chunk, say),
    /// as when the network fails between two packets.
    ReadBefore(usize),
}

/// Faults armed for the next requests.
#[derive(Default)]
struct Faults {
    /// Requests containing this marker are truncated, one truncation each.
    truncate: Option<(&'static [u8], VecDeque<Truncation>)>,
    /// Requests containing this marker have their answers dropped, this many.
    drop_answers: Option<(&'static [u8], u32)>,
    /// Requests containing this marker stall their connection, one stall each.
    stall: Option<(&'static [u8], VecDeque<Stall>)>,
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1` that forwards to `upstream` (host and port).
    pub async fn start(upstream: (String, u16)) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let deadline = Instant::now() + LIFETIME;
        let registry = shared.clone();
        let accept = tokio::spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok(Ok((client, _))) = timeout_at(deadline, listener.accept()).await else {
                    return;
                };
                if registry.down.load(Ordering::SeqCst) {
                    drop(client); // the outage: closed as soon as accepted
                    continue;
                }
                let upstream = upstream.clone();
                let shared = registry.clone();
                let task = tokio::spawn(async move {
                    let connect = TcpStream::connect((upstream.0.as_str(), upstream.1));
                    if let Ok(Ok(server)) = timeout_at(deadline, connect).await {
                        let _ = timeout_at(deadline, pipe(client, server, shared)).await;
                    }
                });
                let mut conns = registry.conns.lock().unwrap();
                conns.retain(|c| !c.is_finished());
                conns.push(task.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            port,
            shared,
            accept,
        }
    }

    /// The port the proxy listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every open connection (both sides see the socket close), and returns how
    /// many there were.
    pub fn cut(&self) -> usize {
        let conns = std::mem::take(&mut *self.shared.conns.lock().unwrap());
        let open = conns.iter().filter(|c| !c.is_finished()).count();
        for c in &conns {
            c.abort();
        }
        open
    }

    /// Truncates the next requests that contain `marker`, one for each of `cuts`: each
    /// is forwarded up to the cut and then its connection is closed. A request that is
    /// shorter than its cut, or whose cut would withhold only the end of its chunked
    /// body (see [`Truncation`]), goes through whole, and the cut is not counted in
    /// [`Proxy::truncated`]. The cuts are added to those still armed (with the same
    /// marker).
    pub fn truncate_requests(&self, marker: &'static [u8], cuts: &[Truncation]) {
        let mut faults = self.shared.faults.lock().unwrap();
        let (_, queue) = faults
            .truncate
            .get_or_insert_with(|| (marker, VecDeque::new()));
        queue.extend(cuts);
    }

    /// How many truncations are armed and not used yet.
    pub fn truncations_pending(&self) -> usize {
        let faults = self.shared.faults.lock().unwrap();
        faults.truncate.as_ref().map_or(0, |(_, q)| q.len())
    }

    /// Lets the next `n` requests that contain `marker` reach the server whole, then
    /// closes each connection as the server answers, dropping the answer.
    pub fn drop_answers(&self, marker: &'static [u8], n: u32) {
        let mut faults = self.shared.faults.lock().unwrap();
        let (_, left) = faults.drop_answers.get_or_insert((marker, 0));
        *left += n;
    }

    /// How many answer drops are armed and not used yet.
    pub fn answers_pending(&self) -> u32 {
        let faults = self.shared.faults.lock().unwrap();
        faults.drop_answers.map_or(0, |(_, n)| n)
    }

    /// Freezes the connections of the next requests that contain `marker`, one for each
    /// of `stalls` (see [`Stall`]); the stalls are added to those still armed (with the
    /// same marker). A stalled connection stays open until the proxy is dropped.
    pub fn stall(&self, marker: &'static [u8], stalls: &[Stall]) {
        let mut faults = self.shared.faults.lock().unwrap();
        let (_, queue) = faults
            .stall
            .get_or_insert_with(|| (marker, VecDeque::new()));
        queue.extend(stalls);
    }

    /// Connections stalled so far.
    pub fn stalled(&self) -> u32 {
        self.shared.stalled.load(Ordering::SeqCst)
    }

    /// Starts an outage: closes every open connection (stalled ones included), and
    /// closes new ones as soon as they are accepted, until [`Proxy::up`].
    pub fn down(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        self.cut();
    }

    /// Ends an outage.
    pub fn up(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    /// Whether an outage is under way.
    pub fn is_down(&self) -> bool {
        self.shared.down.load(Ordering::SeqCst)
    }

    /// Starts an outage ([`Proxy::down`]) at the moment the next answer is dropped
    /// ([`Proxy::drop_answers`]).
    pub fn down_after_dropped_answer(&self) {
        self.shared.down_after_drop.store(true, Ordering::SeqCst);
    }

    /// Requests truncated so far.
    pub fn truncated(&self) -> u32 {
        self.shared.truncated.load(Ordering::SeqCst)
    }

    /// Answers dropped so far (each one after the server had the whole request).
    pub fn answers_dropped(&self) -> u32 {
        self.shared.answers_dropped.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// What a connection does to the request it is forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Forward everything.
    Forward,
    /// Forward at most `at` bytes (counted from the connection's start), and close the
    /// connection when the client sends more; if `whole_reads`, forward only the whole
    /// reads from the client that end within `at`.
    TruncateAt { at: u64, whole_reads: bool },
    /// Close the connection when the server answers.
    DropAnswer,
    /// Forward nothing more either way, and keep both sockets open.
    Stalled,
}

/// Copies both ways until either side closes or a fault closes the connection.
async fn pipe(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let plan = Arc::new(Mutex::new(Plan::Forward));
    tokio::select! {
        () = upstream(cr, sw, &shared, &plan) => {}
        () = downstream(sr, cw, &shared, &plan) => {}
    }
}

/// Client to server: finds markers and forwards, up to a truncation point if one is
/// planned.
async fn upstream(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    plan: &Mutex<Plan>,
) {
    let mut buf = vec![0u8; 64 << 10];
    // The last bytes seen, so that a marker split across reads is found.
    let mut tail: Vec<u8> = Vec::new();
    let mut forwarded: u64 = 0;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let mut stall = None;
        if let Some(marker_at) = find_marker(shared, &tail, chunk, forwarded) {
            let mut faults = shared.faults.lock().unwrap();
            let mut plan = plan.lock().unwrap();
            if let Some((_, cuts)) = &mut faults.truncate {
                *plan = match cuts.pop_front() {
                    Some(Truncation::At(n)) => Plan::TruncateAt {
                        at: marker_at + n as u64,
                        whole_reads: false,
                    },
                    Some(Truncation::ReadBefore(n)) => Plan::TruncateAt {
                        at: marker_at + n as u64,
                        whole_reads: true,
                    },
                    None => *plan,
                };
            }
            if *plan == Plan::Forward {
                if let Some((_, stalls)) = &mut faults.stall {
                    stall = stalls.pop_front();
                    if stall.is_some() {
                        *plan = Plan::Stalled;
                        shared.stalled.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            if *plan == Plan::Forward {
                if let Some((_, left)) = &mut faults.drop_answers {
                    if *left > 0 {
                        *left -= 1;
                        *plan = Plan::DropAnswer;
                    }
                }
            }
        }
        match stall {
            Some(Stall::Request) => return hold(from, to).await,
            Some(Stall::Answer) => {
                // The request goes through; the downstream half holds the answer back.
                if to.write_all(chunk).await.is_err() {
                    return;
                }
                return hold(from, to).await;
            }
            None => {}
        }
        let current = *plan.lock().unwrap();
        let (end, last) = match current {
            Plan::TruncateAt { at, whole_reads } => {
                // Cut only on seeing bytes past the cut, so that a request that ends right
                // at the cut goes through whole rather than counting as truncated.
                let room = usize::try_from(at.saturating_sub(forwarded)).unwrap_or(usize::MAX);
                let cut = match (room >= n, whole_reads) {
                    (true, _) => None,
                    (false, true) => Some(0),
                    (false, false) => Some(room),
                };
                match cut {
                    None => (n, false),
                    // The cut would withhold only the end of a chunked body: the server
                    // has every byte of the data, and takes the cut for the body's end
                    // (see `Truncation`). Such a cut is a lost answer, not a truncation:
                    // the request goes through whole and the cut is not used.
                    Some(end) if body_end(&chunk[end..]) => {
                        *plan.lock().unwrap() = Plan::Forward;
                        (n, false)
                    }
                    Some(end) => (end, true),
                }
            }
            _ => (n, false),
        };
        if to.write_all(&chunk[..end]).await.is_err() {
            return;
        }
        forwarded += end as u64;
        if last {
            shared.truncated.fetch_add(1, Ordering::SeqCst);
            return; // the server never sees the rest of the request
        }
        keep_tail(&mut tail, chunk, 64);
    }
}

/// Whether `withheld`, the rest of a read from the client, is only (a part of) the end of
/// a chunked HTTP body, with no byte of data in it.
fn body_end(withheld: &[u8]) -> bool {
    !withheld.is_empty() && b"\r\n0\r\n\r\n".ends_with(withheld)
}

/// Server to client: forwards, or drops the server's answer if that is planned.
async fn downstream(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    plan: &Mutex<Plan>,
) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut stalled = false;
        {
            let mut plan = plan.lock().unwrap();
            match *plan {
                Plan::DropAnswer => {
                    shared.answers_dropped.fetch_add(1, Ordering::SeqCst);
                    if shared.down_after_drop.swap(false, Ordering::SeqCst) {
                        shared.down.store(true, Ordering::SeqCst);
                        let conns = std::mem::take(&mut *shared.conns.lock().unwrap());
                        for c in &conns {
                            c.abort();
                        }
                    }
                    return; // the server answered: drop the answer and the connection
                }
                Plan::Stalled => stalled = true,
                // The server answered a request shorter than its truncation point: the
                // request went through whole, and the truncation was not used.
                Plan::TruncateAt { .. } => *plan = Plan::Forward,
                Plan::Forward => {}
            }
        }
        if stalled {
            return hold(from, to).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Keeps both halves of a stalled connection open, forwarding nothing, until the task is
/// aborted (by [`Proxy::cut`], [`Proxy::down`], dropping the proxy, or its lifetime).
async fn hold<R, W>(from: R, to: W) {
    let _keep = (from, to);
    std::future::pending::<()>().await;
}

/// Where (counted from the connection's start) the first armed marker begins in
/// `tail ++ chunk`, if it does and not entirely within `tail`. `forwarded` is the
/// offset of `chunk`.
fn find_marker(shared: &Shared, tail: &[u8], chunk: &[u8], forwarded: u64) -> Option<u64> {
    let markers: Vec<&'static [u8]> = {
        let faults = shared.faults.lock().unwrap();
        let truncate = faults
            .truncate
            .as_ref()
            .filter(|(_, q)| !q.is_empty())
            .map(|(m, _)| *m);
        let drop = faults.drop_answers.filter(|(_, n)| *n > 0).map(|(m, _)| m);
        let stall = faults
            .stall
            .as_ref()
            .filter(|(_, q)| !q.is_empty())
            .map(|(m, _)| *m);
        truncate.into_iter().chain(drop).chain(stall).collect()
    };
    let mut seen = tail.to_vec();
    seen.extend_from_slice(chunk);
    markers
        .into_iter()
        .filter_map(|m| {
            // A marker wholly inside `tail` was already handled.
            let at = seen
                .windows(m.len())
                .enumerate()
                .position(|(i, w)| w == m && i + m.len() > tail.len())?;
            Some(forwarded + at as u64 - tail.len() as u64)
        })
        .min()
}

/// Keeps the last `keep` bytes seen in `tail`.
fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8], keep: usize) {
    tail.extend_from_slice(chunk);
    if tail.len() > keep {
        tail.drain(..tail.len() - keep);
    }
}
