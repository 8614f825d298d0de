//! The bisection plan: how a batch the sink refused because of its rows is split to
//! isolate the bad rows, and when splitting stops.
//!
//! - Only errors the sink marks as caused by the rows
//!   ([`SinkError::is_caused_by_data`]) are split; an error about the whole batch (a
//!   read-only server, a trigger, a lost commit) is not.
//! - When the sink names the failing row, the batch is split around it: the rows before
//!   and after are sent again and the row fails alone.
//! - Otherwise the batch is halved. When both halves fail with the same error as their
//!   parent and no row, the error is not about one row: both fail without more splits.
//! - The sends of one batch are capped at enough to isolate about four bad rows by
//!   halving (`1 + 8 × depth + 4`), so no batch costs `2n − 1` sends.

use std::collections::HashMap;
use std::ops::Range;

use crate::sink::SinkError;

/// What identifies an error for the "both halves failed the same way" rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Signature {
    code: Option<String>,
    message: String,
}

impl Signature {
    pub(super) fn of(e: &SinkError) -> Self {
        Signature {
            code: e.code().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

/// How to split a part of `rows` rows.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// Ranges (within the part) to send again.
    pub(super) resend: Vec<Range<usize>>,
    /// The row that fails alone, when the sink named it.
    pub(super) bad: Option<Range<usize>>,
    /// Whether `resend` are two halves of an error without a row (a pair).
    pub(super) halves: bool,
}

/// Splits a part of `rows` rows (at least 2) around the row the sink named, or in halves.
pub(super) fn plan(rows: usize, bad_row: Option<usize>) -> Plan {
    match bad_row.filter(|&r| r < rows) {
        Some(r) => Plan {
            resend: [0..r, r + 1..rows]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect(),
            bad: Some(r..r + 1),
            halves: false,
        },
        None => Plan {
            resend: vec![0..rows / 2, rows / 2..rows],
            bad: None,
            halves: true,
        },
    }
}

/// The most sends a batch of `rows` rows may cost: the first, eight per level of a
/// bisection (four bad rows isolated by halving), and a few to spare.
pub(super) fn send_cap(rows: usize) -> u32 {
    let depth = usize::BITS - rows.max(1).saturating_sub(1).leading_zeros();
    1 + 8 * depth + 4
}

/// What a pair learned from the outcome of one of its halves.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum News<H> {
    /// Nothing to do beyond handling this half.
    Nothing,
    /// This half failed like its parent and its sibling is pending: hold it.
    Hold,
    /// Both halves failed like their parent: fail this one and the held sibling.
    BothFailed(H),
    /// The held sibling can be split after all (this half did not fail the same way).
    Release(H),
}

#[derive(Debug)]
struct Pair<H> {
    signature: Signature,
    /// Halves whose outcome is not known yet.
    pending: u8,
    held: Option<H>,
}

/// Pairs of halves, and the sends of each batch, by sequence.
#[derive(Debug)]
pub(super) struct Bisector<H> {
    pairs: HashMap<u64, Pair<H>>,
    next_pair: u64,
    /// Sends so far and the cap, by batch sequence.
    sends: HashMap<u64, (u32, u32)>,
}

impl<H> Default for Bisector<H> {
    fn default() -> Self {
        Bisector {
            pairs: HashMap::new(),
            next_pair: 0,
            sends: HashMap::new(),
        }
    }
}

impl<H> Bisector<H> {
    /// Batch `seq` of `rows` rows was sealed: its first send.
    pub(super) fn start(&mut self, seq: u64, rows: usize) {
        self.sends.insert(seq, (1, send_cap(rows)));
    }

    /// `parts` more sends of parts of batch `seq` are planned.
    pub(super) fn planned(&mut self, seq: u64, parts: usize) {
        if let Some(s) = self.sends.get_mut(&seq) {
            s.0 = s.0.saturating_add(u32::try_from(parts).unwrap_or(u32::MAX));
        }
    }

    /// Whether batch `seq` may be split again: each split costs at most two sends.
    pub(super) fn may_split(&self, seq: u64) -> bool {
        self.sends
            .get(&seq)
            .is_none_or(|&(sent, cap)| sent.saturating_add(2) <= cap)
    }

    /// The sends of batch `seq` so far.
    pub(super) fn sends(&self, seq: u64) -> u32 {
        self.sends.get(&seq).map_or(0, |s| s.0)
    }

    /// Batch `seq` is settled: forget its sends.
    pub(super) fn forget(&mut self, seq: u64) {
        self.sends.remove(&seq);
    }

    /// A new pair of halves of a part that failed with `signature`.
    pub(super) fn pair(&mut self, signature: Signature) -> u64 {
        let id = self.next_pair;
        self.next_pair += 1;
        self.pairs.insert(
            id,
            Pair {
                signature,
                pending: 2,
                held: None,
            },
        );
        id
    }

    /// A half of `pair` settled: committed (`failed` is `None`), or failed with an error
    /// of this signature and maybe a row.
    pub(super) fn report(
        &mut self,
        pair: u64,
        failed: Option<(&Signature, Option<usize>)>,
    ) -> News<H> {
        let Some(state) = self.pairs.get_mut(&pair) else {
            return News::Nothing;
        };
        state.pending = state.pending.saturating_sub(1);
        let same = failed.is_some_and(|(sig, row)| row.is_none() && *sig == state.signature);
        let news = match (same, state.held.take()) {
            (true, Some(sibling)) => News::BothFailed(sibling),
            (true, None) if state.pending > 0 => News::Hold,
            (_, Some(sibling)) => News::Release(sibling),
            (_, None) => News::Nothing,
        };
        if state.pending == 0 && state.held.is_none() && !matches!(news, News::Hold) {
            self.pairs.remove(&pair);
        }
        news
    }

    /// Holds a half that failed like its parent until its sibling settles.
    pub(super) fn hold(&mut self, pair: u64, half: H) {
        if let Some(state) = self.pairs.get_mut(&pair) {
            state.held = Some(half);
        }
    }

    /// Every held half (when the close deadline passes).
    pub(super) fn take_held(&mut self) -> Vec<H> {
        self.pairs
            .values_mut()
            .filter_map(|p| p.held.take())
            .collect()
    }

    /// Whether a half is held.
    pub(super) fn holds_any(&self) -> bool {
        self.pairs.values().any(|p| p.held.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(m: &str) -> Signature {
        Signature::of(&SinkError::permanent(m).with_code("27"))
    }

    #[test]
    fn a_named_row_fails_alone() {
        assert_eq!(
            plan(10, Some(3)),
            Plan {
                resend: vec![0..3, 4..10],
                bad: Some(3..4),
                halves: false
            }
        );
        assert_eq!(plan(10, Some(0)).resend, vec![1..10]);
        assert_eq!(plan(10, Some(9)).resend, vec![0..9]);
        // A row out of range is ignored: halves.
        assert_eq!(
            plan(10, Some(10)),
            Plan {
                resend: vec![0..5, 5..10],
                bad: None,
                halves: true
            }
        );
    }

    #[test]
    fn the_cap_allows_a_full_bisection() {
        assert_eq!(send_cap(1), 5);
        assert_eq!(send_cap(2), 13);
        // 100,000 rows: 17 levels.
        assert_eq!(send_cap(100_000), 1 + 8 * 17 + 4);
        let mut b = Bisector::<()>::default();
        b.start(1, 1);
        assert!(b.may_split(1));
        b.planned(1, 2);
        assert_eq!(b.sends(1), 3);
        assert!(b.may_split(1));
        b.planned(1, 1);
        assert!(!b.may_split(1));
        b.forget(1);
        assert_eq!(b.sends(1), 0);
    }

    #[test]
    fn both_halves_failing_like_the_parent_stop_the_bisection() {
        let mut b = Bisector::default();
        let p = b.pair(sig("read-only"));
        assert_eq!(b.report(p, Some((&sig("read-only"), None))), News::Hold);
        b.hold(p, "first half");
        assert!(b.holds_any());
        assert_eq!(
            b.report(p, Some((&sig("read-only"), None))),
            News::BothFailed("first half")
        );
        assert!(!b.holds_any());
        assert!(b.pairs.is_empty());
    }

    #[test]
    fn a_half_that_commits_releases_its_held_sibling() {
        let mut b = Bisector::default();
        let p = b.pair(sig("bad value"));
        assert_eq!(b.report(p, Some((&sig("bad value"), None))), News::Hold);
        b.hold(p, 1);
        assert_eq!(b.report(p, None), News::Release(1));
        assert!(b.pairs.is_empty());
    }

    #[test]
    fn a_different_error_or_a_named_row_does_not_hold() {
        let mut b = Bisector::<u8>::default();
        let p = b.pair(sig("bad value"));
        assert_eq!(b.report(p, Some((&sig("other"), None))), News::Nothing);
        // The sibling settles after: it is alone, nothing to hold for.
        assert_eq!(b.report(p, Some((&sig("bad value"), None))), News::Nothing);
        let q = b.pair(sig("bad value"));
        assert_eq!(
            b.report(q, Some((&sig("bad value"), Some(3)))),
            News::Nothing
        );
        assert_eq!(b.report(q, None), News::Nothing);
        assert!(b.pairs.is_empty());
        assert_eq!(b.report(42, None), News::Nothing);
    }
}
