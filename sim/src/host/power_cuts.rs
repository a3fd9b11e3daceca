//! What a power cut takes from the network: the messages a node had sent that had not arrived yet.
//!
//! A killed process's kernel still sends what its sockets hold (madsim delivers it, as TCP would); a host that loses
//! power takes its send queues with it. Every message carries how many power cuts its sender had had when it was
//! sent, and a receiver drops one whose sender has lost power since.

use ksim_model::NodeId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Power cuts per node so far, shared by every node of a run and the nemesis.
#[derive(Clone, Default)]
pub struct PowerCuts(Arc<Mutex<BTreeMap<NodeId, u64>>>);

impl PowerCuts {
    /// `node` loses power: what it sent before now and has not arrived is lost.
    pub fn cut(&self, node: NodeId) {
        *self.0.lock().unwrap().entry(node).or_default() += 1;
    }

    /// How many times `node` has lost power.
    pub fn count(&self, node: NodeId) -> u64 {
        self.0.lock().unwrap().get(&node).copied().unwrap_or(0)
    }

    /// Whether a message `from` sent after `count_at_send` power cuts was lost with a later one.
    pub fn lost(&self, from: NodeId, count_at_send: u64) -> bool {
        self.count(from) > count_at_send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_cut_loses_what_its_node_sent_before_it_and_nothing_after() {
        let cuts = PowerCuts::default();
        let broker = NodeId::Broker(2);
        let sent_before = cuts.count(broker);
        cuts.cut(broker);
        assert!(cuts.lost(broker, sent_before));
        assert!(
            !cuts.lost(broker, cuts.count(broker)),
            "sent after it restarted"
        );
        assert!(!cuts.lost(NodeId::Broker(1), 0), "another node's messages");
    }
}
