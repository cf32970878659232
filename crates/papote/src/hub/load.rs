//! Whether the server is saturated: its runtime's workers busy nearly all the time.
//!
//! Big rooms pace their fan-outs only then (`room.rs`): batching costs each line up to one pacing
//! slot of latency, worth paying only when the alternative is a server that falls behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the runtime's busy time is sampled: long enough that a burst (a crowd arriving)
/// does not count as saturation.
pub const SAMPLE: Duration = Duration::from_secs(1);
/// Saturated from this share of the workers' time busy...
const SATURATED_FROM: f64 = 0.9;
/// ...until it falls under this one (paced rooms lower the load; the gap keeps it from flapping).
const RELIEVED_UNDER: f64 = 0.6;

#[derive(Debug, Default)]
pub struct Saturation {
    saturated: AtomicBool,
}

impl Saturation {
    pub fn is_saturated(&self) -> bool {
        self.saturated.load(Ordering::Relaxed)
    }

    pub fn set(&self, saturated: bool) {
        self.saturated.store(saturated, Ordering::Relaxed);
    }

    /// Samples the current runtime's busy time every `period` until `shutdown`.
    pub async fn watch(self: Arc<Self>, period: Duration, shutdown: CancellationToken) {
        let metrics = tokio::runtime::Handle::current().metrics();
        let busy = || (0..metrics.num_workers()).map(|w| metrics.worker_total_busy_duration(w)).sum::<Duration>();
        let mut last = (tokio::time::Instant::now(), busy());
        crate::telemetry::load(0.0, self.is_saturated());
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let now = (tokio::time::Instant::now(), busy());
            let elapsed = now.0.duration_since(last.0).as_secs_f64() * metrics.num_workers().max(1) as f64;
            if elapsed > 0.0 {
                let ratio = now.1.saturating_sub(last.1).as_secs_f64() / elapsed;
                let was = self.is_saturated();
                let is = next_state(was, ratio);
                if is != was {
                    tracing::info!(busy = format!("{:.0}%", ratio * 100.0), saturated = is, "server load");
                }
                self.set(is);
                crate::telemetry::load(ratio, is);
            }
            last = now;
        }
    }
}

fn next_state(saturated: bool, busy_ratio: f64) -> bool {
    if saturated { busy_ratio >= RELIEVED_UNDER } else { busy_ratio >= SATURATED_FROM }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturation_starts_high_and_ends_low() {
        assert!(!next_state(false, 0.89));
        assert!(next_state(false, 0.9));
        assert!(next_state(true, 0.7), "pacing lowered the load: still saturated");
        assert!(!next_state(true, 0.59));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_runtime_kept_busy_is_seen_saturated_and_an_idle_one_is_not() {
        let saturation = Arc::new(Saturation::default());
        let shutdown = CancellationToken::new();
        let watching = tokio::spawn(Arc::clone(&saturation).watch(Duration::from_millis(100), shutdown.clone()));
        // A task that keeps the one worker from parking for a second (yielding between spins,
        // so the watcher still runs).
        let spinning = tokio::spawn(async {
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(1) {
                let slice = std::time::Instant::now();
                while slice.elapsed() < Duration::from_millis(1) {
                    std::hint::spin_loop();
                }
                tokio::task::yield_now().await;
            }
        });
        assert!(spinning.await.is_ok());
        assert!(saturation.is_saturated());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!saturation.is_saturated());
        shutdown.cancel();
        assert!(watching.await.is_ok());
    }
}
