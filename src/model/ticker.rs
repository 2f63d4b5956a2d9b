//! A ticker the run and its views keep time with.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Ticks every interval until a token is cancelled. A tick missed while the caller was
/// busy is not caught up: the next one waits a whole interval.
pub struct Ticker {
    tick: tokio::time::Interval,
    stop: CancellationToken,
}

impl Ticker {
    pub fn new(interval: Duration, stop: CancellationToken) -> Ticker {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker { tick, stop }
    }

    /// Waits for the next tick; false once stopped.
    pub async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.tick.tick() => true,
            _ = self.stop.cancelled() => false,
        }
    }
}
