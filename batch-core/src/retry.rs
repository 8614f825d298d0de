//! When and how often a batch is sent again after a retryable failure.

use std::time::Duration;

/// How a batch that failed with a retryable error
/// ([`SinkError::is_retryable`](crate::SinkError::is_retryable)) is sent again.
///
/// Attempt `n` (counting from 1) that fails is followed by a pause drawn uniformly from
/// `[0, min(max_backoff, initial_backoff × 2^(n-1))]` ("full jitter"), then attempt
/// `n + 1`, until the next attempt would start after the
/// [`deadline`](RetryPolicy::deadline), counted from the start of the first attempt (or
/// [`attempts`](RetryPolicy::attempts) attempts were made, when capped). The batch then
/// fails for good with the last error.
///
/// Each attempt ends at the earlier of its [`attempt_timeout`](RetryPolicy::attempt_timeout)
/// and the deadline: the deadline bounds the attempt that is running, too. The sink
/// decides what a timed-out attempt means ([`Sender::send_by`](crate::Sender::send_by)): the
/// built-in sinks retry it when the batch cannot have been written, and otherwise find
/// out or report it as possibly persisted, never resend it blindly.
///
/// Every attempt sends the same bytes. Errors of other kinds (permanent, schema, config,
/// possibly persisted) are never retried.
///
/// **The default rides out a server restart or failover of up to about two minutes**:
/// attempts are not capped, the pause grows from 100 ms and doubles up to 5 s, each
/// attempt times out after 30 s, and a batch fails only when no attempt succeeded within
/// 120 s. Meanwhile producers wait (backpressure) once `max_buffered_bytes` is used up.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use batch_core::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .attempts(8)
///     .backoff(Duration::from_millis(50), Duration::from_secs(5))
///     .deadline(Duration::from_secs(30));
/// assert_eq!(policy.max_attempts(), 8);
/// assert_eq!(RetryPolicy::never().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Option<Duration>,
    attempt_timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: u32::MAX,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Some(Duration::from_secs(120)),
            attempt_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    #[must_use]
    pub fn never() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Caps the number of attempts in total, including the first (at least 1; 0 counts as
    /// 1). Not capped by default: the deadline ends the retries.
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The cap of the pause after the first failed attempt, and the largest cap; the cap
    /// doubles after each failed attempt.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// No attempt starts later than `deadline` after the start of the first one.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Retries for as long as attempts remain, however long that takes.
    #[must_use]
    pub fn no_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// Ends a single attempt after `timeout` (30 s by default); see
    /// [`Sender::send_by`](crate::Sender::send_by) for what a timed-out attempt means.
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Lets a single attempt run until the deadline (or forever, with
    /// [`no_deadline`](RetryPolicy::no_deadline)).
    #[must_use]
    pub fn no_attempt_timeout(mut self) -> Self {
        self.attempt_timeout = None;
        self
    }

    /// The number of attempts in total (`u32::MAX` when not capped).
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The cap of the pause after the first failed attempt.
    #[must_use]
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest cap of a pause.
    #[must_use]
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The total deadline, if any.
    #[must_use]
    pub fn total_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The timeout of a single attempt, if any.
    #[must_use]
    pub fn timeout_of_attempt(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// The cap of the pause after failed attempt `attempt` (counting from 1).
    #[must_use]
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// The pause after failed attempt `attempt`, for a uniform sample `unit` in `[0, 1)`.
    pub(crate) fn backoff_for(&self, attempt: u32, unit: f64) -> Duration {
        let cap = self.backoff_cap(attempt);
        Duration::try_from_secs_f64(cap.as_secs_f64() * unit.clamp(0.0, 1.0)).unwrap_or(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.backoff_cap(1), Duration::from_millis(100));
        assert_eq!(p.backoff_cap(2), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(4), Duration::from_millis(800));
        assert_eq!(p.backoff_cap(5), Duration::from_secs(1));
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_secs(1));
        assert_eq!(p.backoff_for(2, 0.5), Duration::from_millis(100));
        assert_eq!(p.backoff_for(2, 0.0), Duration::ZERO);
    }

    #[test]
    fn the_default_rides_out_a_two_minute_outage() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), u32::MAX);
        assert_eq!(p.total_deadline(), Some(Duration::from_secs(120)));
        assert_eq!(p.timeout_of_attempt(), Some(Duration::from_secs(30)));
        // The worst-case pauses of a 30 s outage sum to well under the deadline.
        let worst: Duration = (1..=12).map(|n| p.backoff_cap(n)).sum();
        assert!(worst < Duration::from_secs(60), "{worst:?}");
        assert_eq!(p.backoff_cap(20), Duration::from_secs(5));
    }

    #[test]
    fn attempts_are_at_least_one() {
        assert_eq!(RetryPolicy::default().attempts(0).max_attempts(), 1);
    }
}
