//! The servers a [`ClickHouseSink`](crate::ClickHouseSink) sends to: replicas of one
//! shard, or servers that each take any batch (the nodes of a `Distributed` table). Each
//! batch goes to one healthy endpoint, the one with the fewest inserts in flight (round
//! robin among equals); a batch that failed on an endpoint is sent to another one next;
//! an endpoint whose insert failed as retryable is ejected for a while, then probed
//! before it gets batches again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use batch_core::Batch;
use clickhouse::Client;
use tokio::time::Instant;

/// How long an endpoint is ejected after its first failure; doubled for each failure in
/// a row, up to [`MAX_EJECTION`].
pub(crate) const FIRST_EJECTION: Duration = Duration::from_secs(1);
/// The longest an endpoint is ejected.
pub(crate) const MAX_EJECTION: Duration = Duration::from_secs(30);
/// The longest a probe (`SELECT 1`, or the schema check of an endpoint not checked yet)
/// may take.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The most batches whose last failed endpoint is remembered (batches that failed for
/// good are never told apart from ones still being retried, so the memory is bounded).
const MAX_REMEMBERED: usize = 4096;

/// One server.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The URL, for messages (`None`: the user's client, whose URL is not known).
    pub(crate) url: Option<String>,
    /// For the schema check and probes: the user's client at this URL.
    pub(crate) client: Client,
    /// For inserts: without the client's compression, as the sink compresses.
    pub(crate) insert_client: Client,
    in_flight: AtomicUsize,
    health: Mutex<Health>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Health {
    /// Failed inserts in a row.
    failures: u32,
    /// Out of the rotation until then.
    ejected_until: Option<Instant>,
    /// Must answer a probe before it gets a batch (after an ejection).
    on_probation: bool,
    /// The schema check has not passed on it yet (it did not answer at start).
    unchecked: bool,
    /// A send is probing it; others pass it over meanwhile.
    probing: bool,
}

impl Endpoint {
    /// An endpoint at `url` (`None`: the clients' own URL).
    pub(crate) fn new(url: Option<String>, client: &Client, insert_client: &Client) -> Self {
        let (client, insert_client) = match &url {
            Some(u) => (
                client.clone().with_url(u.clone()),
                insert_client.clone().with_url(u.clone()),
            ),
            None => (client.clone(), insert_client.clone()),
        };
        Endpoint {
            url,
            client,
            insert_client,
            in_flight: AtomicUsize::new(0),
            health: Mutex::new(Health::default()),
        }
    }

    /// ` at URL`, or nothing, for messages.
    pub(crate) fn at(&self) -> String {
        self.url
            .as_deref()
            .map_or_else(String::new, |u| format!(" at {u}"))
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The endpoints of a sink and what they have done lately.
#[derive(Debug)]
pub(crate) struct Endpoints {
    list: Vec<Endpoint>,
    /// Where round robin starts next.
    next: AtomicUsize,
    /// The endpoint each batch (by id and rows) last failed on.
    failed_on: Mutex<HashMap<(u64, usize, usize), usize>>,
}

/// What [`Endpoints::pick`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pick {
    pub(crate) index: usize,
    /// Probe it first (it was ejected); the probe is the schema check if `unchecked`.
    pub(crate) probe: bool,
    pub(crate) unchecked: bool,
}

/// An insert in flight on an endpoint; counted until dropped.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a Endpoint);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn key(batch: &Batch) -> (u64, usize, usize) {
    let r = batch.range();
    (batch.id(), r.start, r.end)
}

impl Endpoints {
    pub(crate) fn new(list: Vec<Endpoint>) -> Self {
        Endpoints {
            list,
            next: AtomicUsize::new(0),
            failed_on: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, i: usize) -> &Endpoint {
        &self.list[i.min(self.list.len().saturating_sub(1))]
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Endpoint> {
        self.list.iter()
    }

    fn failed_on(&self) -> MutexGuard<'_, HashMap<(u64, usize, usize), usize>> {
        self.failed_on
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks endpoint `i` as not schema-checked (it did not answer at start) and ejected
    /// until it is probed.
    pub(crate) fn start_unchecked(&self, i: usize, now: Instant) {
        let mut h = self.get(i).health();
        h.unchecked = true;
        h.on_probation = true;
        h.failures = 1;
        h.ejected_until = Some(now + FIRST_EJECTION);
    }

    /// Chooses the endpoint for the next attempt of `batch`, leaving out `skip` (the
    /// endpoints this attempt has already given up on). Among endpoints in the rotation
    /// (not ejected, not probed by another send), the fewest inserts in flight wins,
    /// then round robin; the endpoint the batch last failed on is taken only when no
    /// other is in the rotation. One back from its ejection is probed first. When every endpoint is
    /// ejected, the one whose ejection ends first is probed. `None` when `skip` leaves
    /// none.
    pub(crate) fn pick(&self, batch: &Batch, skip: &[usize], now: Instant) -> Option<Pick> {
        let n = self.list.len();
        if n == 1 {
            // Nothing to fail over to: the batcher's backoff paces the retries.
            return (!skip.contains(&0)).then_some(Pick {
                index: 0,
                probe: false,
                unchecked: false,
            });
        }
        let last_failed = self.failed_on().get(&key(batch)).copied();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<(usize, (bool, usize))> = None;
        let mut soonest: Option<(usize, Instant)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if skip.contains(&i) {
                continue;
            }
            let e = &self.list[i];
            let h = *e.health();
            let ejected = h.ejected_until.is_some_and(|t| t > now);
            if ejected || h.probing {
                let until = h.ejected_until.unwrap_or(now);
                if !h.probing && soonest.is_none_or(|(_, t)| until < t) {
                    soonest = Some((i, until));
                }
                continue;
            }
            // Lower is better: not the batch's last failed endpoint, then the load. An
            // endpoint back from its ejection competes like the others, so that it is
            // probed soon, by one send at a time.
            let rank = (Some(i) == last_failed, e.in_flight.load(Ordering::Relaxed));
            if best.is_none_or(|(_, r)| rank < r) {
                best = Some((i, rank));
            }
        }
        let index = match (best, soonest) {
            (Some((i, _)), _) => i,
            (None, Some((i, _))) => i,
            (None, None) => {
                // Every endpoint left is being probed by another send: take the least
                // loaded of them rather than fail.
                (0..n)
                    .filter(|i| !skip.contains(i))
                    .min_by_key(|&i| self.list[i].in_flight.load(Ordering::Relaxed))?
            }
        };
        let mut h = self.list[index].health();
        let probe = h.on_probation || h.ejected_until.is_some_and(|t| t > now);
        if probe {
            h.probing = true;
        }
        Some(Pick {
            index,
            probe,
            unchecked: h.unchecked,
        })
    }

    /// Counts an insert on endpoint `i` until the guard is dropped.
    pub(crate) fn begin(&self, i: usize) -> InFlight<'_> {
        let e = self.get(i);
        e.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(e)
    }

    /// Endpoint `i` answered its probe: back in the rotation.
    pub(crate) fn probe_passed(&self, i: usize) {
        let mut h = self.get(i).health();
        h.probing = false;
        h.on_probation = false;
        h.unchecked = false;
        h.ejected_until = None;
    }

    /// Endpoint `i` failed its probe, or an insert on it failed as retryable: ejected,
    /// for longer each time in a row. `batch`, if given, is remembered as failed there.
    pub(crate) fn failed(&self, i: usize, batch: Option<&Batch>, now: Instant) -> Duration {
        if self.list.len() == 1 {
            return Duration::ZERO;
        }
        let eject = {
            let mut h = self.get(i).health();
            h.probing = false;
            h.on_probation = true;
            h.failures = h.failures.saturating_add(1);
            let eject = FIRST_EJECTION
                .saturating_mul(1u32 << (h.failures - 1).min(16))
                .min(MAX_EJECTION);
            h.ejected_until = Some(now + eject);
            eject
        };
        if let Some(batch) = batch {
            let mut failed_on = self.failed_on();
            if failed_on.len() >= MAX_REMEMBERED {
                failed_on.clear();
            }
            failed_on.insert(key(batch), i);
        }
        eject
    }

    /// Endpoint `i` failed a probe for a reason time does not cure (its table no longer
    /// fits): ejected for the longest time.
    pub(crate) fn failed_for_long(&self, i: usize, now: Instant) {
        if self.list.len() == 1 {
            return;
        }
        let mut h = self.get(i).health();
        h.probing = false;
        h.on_probation = true;
        h.ejected_until = Some(now + MAX_EJECTION);
    }

    /// An insert of `batch` on endpoint `i` ended other than as retryable (stored, or
    /// refused for a reason another endpoint would share): the endpoint is healthy, and
    /// the batch is forgotten.
    pub(crate) fn answered(&self, i: usize, batch: &Batch) {
        {
            let mut h = self.get(i).health();
            h.failures = 0;
            h.probing = false;
            h.on_probation = false;
            h.ejected_until = None;
        }
        if self.list.len() > 1 {
            self.failed_on().remove(&key(batch));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use batch_core::{ChunkFull, RowBuffer};

    fn endpoints(n: usize) -> Endpoints {
        let c = Client::default();
        Endpoints::new(
            (0..n)
                .map(|i| Endpoint::new(Some(format!("http://h{i}")), &c, &c))
                .collect(),
        )
    }

    fn batch(id: u64) -> Batch {
        let mut buf = RowBuffer::default();
        buf.push_row(|b| {
            b.push(1);
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
        Batch::new(id, vec![buf.take()])
    }

    #[test]
    fn idle_endpoints_take_turns_and_load_counts() {
        let e = endpoints(3);
        let now = Instant::now();
        let b = batch(1);
        let picks: Vec<usize> = (0..6)
            .map(|_| e.pick(&b, &[], now).unwrap().index)
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        // Two inserts on 0 and one on 1: 2 is the least loaded, whatever the turn.
        let _a = e.begin(0);
        let _b = e.begin(0);
        let _c = e.begin(1);
        for _ in 0..3 {
            assert_eq!(e.pick(&b, &[], now).unwrap().index, 2);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_batch_goes_elsewhere_and_the_endpoint_is_ejected_then_probed() {
        let e = endpoints(2);
        let b = batch(7);
        let first = e.pick(&b, &[], Instant::now()).unwrap();
        assert!(!first.probe);
        assert_eq!(
            e.failed(first.index, Some(&b), Instant::now()),
            FIRST_EJECTION
        );
        // The retry, and every other batch, go to the other endpoint meanwhile.
        for id in [7, 8, 9] {
            let p = e.pick(&batch(id), &[], Instant::now()).unwrap();
            assert_ne!(p.index, first.index);
            assert!(!p.probe);
        }
        // After the ejection, the endpoint is probed before it gets a batch; only one
        // send probes it at a time.
        tokio::time::advance(FIRST_EJECTION).await;
        let other = 1 - first.index;
        let busy = e.begin(other);
        let p = e.pick(&batch(10), &[], Instant::now()).unwrap();
        assert_eq!((p.index, p.probe), (first.index, true));
        assert_eq!(
            e.pick(&batch(11), &[], Instant::now()).unwrap().index,
            other
        );
        drop(busy);
        // A failed probe ejects it for twice as long.
        assert_eq!(
            e.failed(first.index, None, Instant::now()),
            FIRST_EJECTION * 2
        );
        tokio::time::advance(FIRST_EJECTION * 2).await;
        let p = e.pick(&batch(12), &[other], Instant::now()).unwrap();
        assert_eq!((p.index, p.probe), (first.index, true));
        e.probe_passed(first.index);
        let p = e.pick(&batch(13), &[other], Instant::now()).unwrap();
        assert_eq!((p.index, p.probe), (first.index, false));
    }

    #[tokio::test(start_paused = true)]
    async fn when_every_endpoint_is_ejected_the_first_to_come_back_is_probed() {
        let e = endpoints(3);
        let now = Instant::now();
        e.failed(0, None, now);
        e.failed(0, None, now); // 2 s
        e.failed(1, None, now); // 1 s
        e.failed(2, None, now);
        e.failed(2, None, now);
        e.failed(2, None, now); // 4 s
        let p = e.pick(&batch(1), &[], now).unwrap();
        assert_eq!((p.index, p.probe), (1, true));
        // The attempt gave up on 1: the next soonest.
        let p = e.pick(&batch(1), &[1], now).unwrap();
        assert_eq!((p.index, p.probe), (0, true));
        assert_eq!(e.pick(&batch(1), &[0, 1, 2], now), None);
    }

    #[test]
    fn the_ejection_is_capped_and_a_good_answer_resets_it() {
        let e = endpoints(2);
        let now = Instant::now();
        let mut last = Duration::ZERO;
        for _ in 0..40 {
            last = e.failed(0, None, now);
        }
        assert_eq!(last, MAX_EJECTION);
        e.answered(0, &batch(1));
        assert_eq!(e.failed(0, None, now), FIRST_EJECTION);
    }

    #[test]
    fn one_endpoint_is_never_ejected() {
        let e = endpoints(1);
        let now = Instant::now();
        assert_eq!(e.failed(0, Some(&batch(1)), now), Duration::ZERO);
        let p = e.pick(&batch(1), &[], now).unwrap();
        assert_eq!((p.index, p.probe), (0, false));
        assert_eq!(e.pick(&batch(1), &[0], now), None);
    }

    #[test]
    fn an_endpoint_unchecked_at_start_is_schema_checked_first() {
        let e = endpoints(2);
        let now = Instant::now();
        e.start_unchecked(1, now);
        let p = e.pick(&batch(1), &[0], now).unwrap();
        assert_eq!((p.index, p.probe, p.unchecked), (1, true, true));
    }
}
