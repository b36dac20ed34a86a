//! When a worker invocation must stop working: the invocation's deadline minus a safety margin
//! (time to flush, checkpoint and send the continuation before Lambda ends the process), capped
//! by the configured budget. A deadline already in the past means "unknown" (`cargo lambda
//! watch` sends a constant that reads as 1970): then the budget alone applies.

use std::time::{Duration, Instant, SystemTime};

/// The instant a slice must end, given the invocation deadline (wall clock) and the settings.
pub fn slice_deadline(
    invocation_deadline: SystemTime,
    budget: Duration,
    margin: Duration,
) -> Instant {
    compute(
        invocation_deadline,
        SystemTime::now(),
        Instant::now(),
        budget,
        margin,
    )
}

fn compute(
    deadline: SystemTime,
    now_wall: SystemTime,
    now: Instant,
    budget: Duration,
    margin: Duration,
) -> Instant {
    let by_budget = now + budget;
    match deadline.duration_since(now_wall) {
        Ok(left) if !left.is_zero() => by_budget.min(now + left.saturating_sub(margin)),
        _ => by_budget,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_deadlines_keep_the_margin_and_the_budget_caps() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let now = Instant::now();
        let s = Duration::from_secs;
        // 900 s left, 60 s margin, budget 2000 s: 840 s.
        assert_eq!(
            compute(wall + s(900), wall, now, s(2000), s(60)),
            now + s(840)
        );
        // The budget is shorter.
        assert_eq!(
            compute(wall + s(900), wall, now, s(100), s(60)),
            now + s(100)
        );
        // Less time left than the margin: stop at once (the engine still runs one page).
        assert_eq!(compute(wall + s(30), wall, now, s(100), s(60)), now);
    }

    #[test]
    fn past_deadlines_mean_unknown() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let now = Instant::now();
        let s = Duration::from_secs;
        // cargo lambda watch: 600000 ms after the epoch.
        let watch = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(compute(watch, wall, now, s(5), s(60)), now + s(5));
        assert_eq!(compute(wall, wall, now, s(5), s(60)), now + s(5));
    }
}
