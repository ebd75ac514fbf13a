//! When to try a request again, and how long to wait first (exponential backoff, capped).

use std::time::Duration;

/// Whether repeating a request can change the outcome on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PUT and the idempotent run registration: safe to send again.
    Idempotent,
    /// PATCH and config creation: sent again only when it never reached the server.
    NotIdempotent,
}

/// What one attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// No connection was made: the request never reached the server.
    ConnectFailed,
    /// The connection was made but the exchange failed (timeout, reset).
    TransportFailed,
    /// The server answered with this status, maybe with `Retry-After`.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
}

/// Exponential backoff: `initial_delay`, doubling, at most `max_delay`, `max_attempts` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `failed + 1`, after `failed` attempts (1-based) have failed.
    pub fn backoff(&self, failed: u32) -> Duration {
        let exponent = failed.saturating_sub(1).min(31);
        self.initial_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }

    /// How long to wait before trying again after attempt number `attempt` (1-based) ended
    /// as `outcome`, or `None` to give up and report it.
    pub fn next_delay(
        &self,
        attempt: u32,
        idempotency: Idempotency,
        outcome: Attempt,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let retryable = match outcome {
            // Nothing was sent, so even a non-idempotent request can go again.
            Attempt::ConnectFailed => true,
            Attempt::TransportFailed => idempotency == Idempotency::Idempotent,
            Attempt::Answered { status, .. } => {
                idempotency == Idempotency::Idempotent && is_retryable_status(status)
            }
        };
        if !retryable {
            return None;
        }
        let backoff = self.backoff(attempt);
        Some(match outcome {
            Attempt::Answered {
                retry_after: Some(wait),
                ..
            } => wait.max(backoff).min(self.max_delay),
            _ => backoff,
        })
    }
}

/// 429 Too Many Requests and every 5xx except 501 Not Implemented.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: Idempotency = Idempotency::Idempotent;
    const PATCH: Idempotency = Idempotency::NotIdempotent;

    fn answered(status: u16) -> Attempt {
        Attempt::Answered {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn backoff_doubles_from_100ms_and_is_capped() {
        let policy = RetryPolicy::default();
        let delays: Vec<u64> = (1..=7)
            .map(|n| policy.backoff(n).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(policy.backoff(100), Duration::from_secs(2));
    }

    #[test]
    fn idempotent_calls_retry_server_errors_and_throttling() {
        let policy = RetryPolicy::default();
        for status in [500, 502, 503, 504, 429] {
            assert_eq!(
                policy.next_delay(1, GET, answered(status)),
                Some(Duration::from_millis(100)),
                "{status}"
            );
        }
        assert_eq!(
            policy.next_delay(3, GET, Attempt::TransportFailed),
            Some(Duration::from_millis(400))
        );
    }

    #[test]
    fn client_errors_and_successes_are_final() {
        let policy = RetryPolicy::default();
        for status in [200, 201, 400, 401, 403, 404, 409, 422, 501] {
            assert_eq!(
                policy.next_delay(1, GET, answered(status)),
                None,
                "{status}"
            );
        }
    }

    #[test]
    fn non_idempotent_calls_retry_only_when_nothing_was_sent() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(1, PATCH, answered(503)), None);
        assert_eq!(policy.next_delay(1, PATCH, answered(429)), None);
        assert_eq!(policy.next_delay(1, PATCH, Attempt::TransportFailed), None);
        assert_eq!(
            policy.next_delay(1, PATCH, Attempt::ConnectFailed),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let policy = RetryPolicy::default();
        assert!(policy.next_delay(4, GET, answered(503)).is_some());
        assert_eq!(policy.next_delay(5, GET, answered(503)), None);
        assert_eq!(
            RetryPolicy::none().next_delay(1, GET, Attempt::ConnectFailed),
            None
        );
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let policy = RetryPolicy::default();
        let throttled = |secs| Attempt::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            policy.next_delay(1, GET, throttled(1)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            policy.next_delay(1, GET, throttled(60)),
            Some(Duration::from_secs(2))
        );
    }
}
