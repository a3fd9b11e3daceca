//! What the nemesis can do to an application in a consumer group, beside what it does to any node.

use crate::host::process::Process;

/// A group member's application process (a plain consumer or a consume-transform-produce processor).
pub trait GroupApp: Process {
    /// The process is about to be killed: record that it stops owning anything (`GroupOp::Stopped`). When madsim
    /// restarts the node, `Process::start` runs again and must start a fresh consumer (a new member), as a
    /// restarted JVM would.
    fn stopped(&mut self, now_ms: u64);
    /// The application thread stalls until `until_ms` (a long GC in the processing code, a slow downstream call):
    /// it neither polls nor finishes what it is processing, while the consumer's heartbeat thread runs on.
    fn pause_until(&mut self, until_ms: u64);
}
