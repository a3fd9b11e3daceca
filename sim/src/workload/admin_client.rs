//! The admin client node: carries out the schedule's create-partitions faults, each a grow call started at its
//! fault's time, and traces how each call ended the moment it does.

use crate::host::process::Process;
use crate::host::recorder::SharedRecorder;
use ksim_model::admin::{AdminClient, GrowOutcome};
use ksim_model::protocol::Message;
use ksim_model::{BrokerId, NodeId, Output};

/// The admin client's client id (its address is 10.0.2.250): apart from producers, consumers and the final reader.
pub const ADMIN_CLIENT: u32 = 250;

/// One scheduled growth: when it starts, what it asks, how long it may take, and its call once started.
#[derive(Clone, Debug)]
pub struct ScheduledGrowth {
    pub at_ms: u64,
    pub topic: String,
    pub increase_by: i32,
    pub timeout_ms: u64,
    call: Option<u64>,
    /// Whether its outcome has been traced.
    reported: bool,
}

impl ScheduledGrowth {
    pub fn new(at_ms: u64, topic: String, increase_by: i32, timeout_ms: u64) -> Self {
        ScheduledGrowth {
            at_ms,
            topic,
            increase_by,
            timeout_ms,
            call: None,
            reported: false,
        }
    }
}

pub struct AdminNode {
    admin: AdminClient,
    /// Sorted by start time.
    growths: Vec<ScheduledGrowth>,
    recorder: SharedRecorder,
}

impl AdminNode {
    pub fn new(
        bootstrap: Vec<BrokerId>,
        mut growths: Vec<ScheduledGrowth>,
        recorder: SharedRecorder,
    ) -> Self {
        growths.sort_by_key(|g| g.at_ms);
        AdminNode {
            admin: AdminClient::new(bootstrap),
            growths,
            recorder,
        }
    }

    /// How the growth of `topic` scheduled at `at_ms` ended, once it has.
    pub fn outcome(&self, at_ms: u64, topic: &str) -> Option<GrowOutcome> {
        self.growths
            .iter()
            .filter(|g| g.at_ms == at_ms && g.topic == topic)
            .find_map(|g| g.call.and_then(|id| self.admin.outcome(id)).cloned())
    }

    /// Starts every growth whose time has come.
    fn start_due(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        for g in &mut self.growths {
            if g.call.is_none() && g.at_ms <= now_ms {
                let (id, sent) =
                    self.admin
                        .grow_topic(now_ms, &g.topic, g.increase_by, g.timeout_ms);
                g.call = Some(id);
                out.extend(sent);
            }
        }
        out
    }

    /// Traces the calls that ended since the last step: the trace shows when a growth was answered, and how.
    fn after(&mut self, now_ms: u64, out: Vec<Output>) -> Vec<Output> {
        for g in &mut self.growths {
            let outcome = g.call.and_then(|id| self.admin.outcome(id));
            if let (Some(outcome), false) = (outcome, g.reported) {
                g.reported = true;
                let event = (
                    "admin",
                    "create-partitions",
                    &g.topic,
                    g.increase_by,
                    outcome,
                );
                self.recorder.lock().unwrap().trace_event(now_ms, &event);
            }
        }
        out
    }

    fn next_start(&self) -> Option<u64> {
        self.growths
            .iter()
            .find(|g| g.call.is_none())
            .map(|g| g.at_ms)
    }
}

impl Process for AdminNode {
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        let out = self.start_due(now_ms);
        self.after(now_ms, out)
    }

    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        let out = self
            .admin
            .handle_message(now_ms, from, correlation_id, message);
        self.after(now_ms, out)
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        let out = self.admin.on_disconnect(now_ms, peer);
        self.after(now_ms, out)
    }

    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = self.start_due(now_ms);
        out.extend(self.admin.on_timeout(now_ms));
        self.after(now_ms, out)
    }

    fn next_timeout(&self) -> Option<u64> {
        match (self.next_start(), self.admin.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
