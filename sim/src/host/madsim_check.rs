//! madsim's own determinism check for one seed: the run twice in one process, the second checked against every
//! random number the first drew (madsim's `Runtime::check_determinism`), so a divergence inside the simulation's
//! scheduler or network is caught at its first random draw.

use super::recorder::{Recorder, SharedRecorder};
use super::run::{madsim_config, simulate};
use crate::scenario::Scenario;
use madsim::runtime::Runtime;
use std::sync::{Arc, Mutex};

/// madsim's check takes a plain `fn` (no captures), so the scenario reaches it through this slot; checks run one at
/// a time.
static INPUT: Mutex<Option<(Arc<Scenario>, u64)>> = Mutex::new(None);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_from_input() -> impl std::future::Future<Output = (Vec<crate::scenario::ScheduledFault>, u64)>
{
    let (scenario, seed) = INPUT.lock().unwrap().clone().expect("input set");
    let recorder: SharedRecorder = Arc::new(Mutex::new(Recorder::default()));
    simulate(scenario, seed, recorder, None)
}

/// Ok when both runs drew the same random numbers in the same order; else madsim's message.
pub fn check_madsim_determinism(scenario: &Scenario, seed: u64) -> Result<(), String> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    *INPUT.lock().unwrap() = Some((Arc::new(scenario.clone()), seed));
    let config = madsim_config(scenario);
    let result = std::thread::spawn(move || {
        Runtime::check_determinism(seed, config, run_from_input);
    })
    .join();
    *INPUT.lock().unwrap() = None;
    result.map_err(|panic| super::run::panic_message(&panic))
}
