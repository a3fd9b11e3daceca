//! The host: builds a madsim runtime for one seed, starts the controller, brokers and clients as nodes, lets the
//! nemesis act, heals, settles, reads the final state, and hands the history to the checkers.

mod madsim_check;
mod node;
pub mod power_cuts;
pub mod process;
pub mod recorder;
mod run;
pub mod samples;
mod wait;

pub use madsim_check::check_madsim_determinism;
pub use run::{run_seed, run_seed_with, RunOptions, RunOutput};

use std::time::Duration;

/// Simulated time since the run started, in ms (the models' `now_ms`).
#[derive(Clone, Copy)]
pub struct Clock {
    start: madsim::time::Instant,
}

impl Clock {
    // madsim's Instant is std's type, but inside a madsim runtime `now` reads the simulated clock.
    #[allow(clippy::disallowed_methods)]
    pub fn new() -> Self {
        Clock {
            start: madsim::time::Instant::now(),
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub async fn sleep_until_ms(&self, at_ms: u64) {
        madsim::time::sleep_until(self.start + Duration::from_millis(at_ms)).await;
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
