//! The process a simulated node runs: a model state machine, plus what survives when the process dies.

use super::samples::Marks;
use ksim_model::broker::Broker;
use ksim_model::config::{BrokerConfig, TopicConfig};
use ksim_model::controller::{Controller, ControllerState};
use ksim_model::protocol::Message;
use ksim_model::storage::Disk;
use ksim_model::{BrokerId, NodeId, Output, TopicPartition};

/// The host drives every model through this: start (at every node start), messages, disconnects, timers.
pub trait Process: Send + 'static {
    fn start(&mut self, now_ms: u64) -> Vec<Output>;
    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output>;
    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output>;
    /// The connection `peer` opened to this process (for its requests) is gone, closed or replaced by a newer
    /// one: the requests that came in on it can no longer be answered. Called besides `on_disconnect`.
    fn on_inbound_closed(&mut self, _now_ms: u64, _peer: NodeId) -> Vec<Output> {
        Vec::new()
    }
    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output>;
    fn next_timeout(&self) -> Option<u64>;
    /// The marks of this process's replicas of the scenario's topics, read for the HTML view: a running broker
    /// has some, every other process (and a broker that is down) none. Read-only, so sampling never changes a run.
    fn replica_marks(&self) -> Vec<(TopicPartition, Marks)> {
        Vec::new()
    }
}

/// A broker process and its disk: running, or down with only the disk left.
pub enum BrokerProcess {
    Running {
        broker: Box<Broker>,
        incarnation: u64,
    },
    Down {
        disk: Disk,
        incarnation: u64,
    },
    /// Only while switching states.
    Switching,
}

pub struct BrokerNode {
    pub id: BrokerId,
    pub config: BrokerConfig,
    pub topics: Vec<TopicConfig>,
    pub process: BrokerProcess,
}

impl BrokerNode {
    pub fn new(id: BrokerId, config: BrokerConfig, topics: Vec<TopicConfig>) -> Self {
        BrokerNode {
            id,
            config,
            topics,
            process: BrokerProcess::Down {
                disk: Disk::default(),
                incarnation: 0,
            },
        }
    }

    /// The process dies; memory is lost, the disk (with its page cache) stays.
    pub fn crash(&mut self) {
        self.process = match std::mem::replace(&mut self.process, BrokerProcess::Switching) {
            BrokerProcess::Running {
                broker,
                incarnation,
            } => BrokerProcess::Down {
                disk: broker.into_disk(),
                incarnation,
            },
            down => down,
        };
    }

    /// The machine loses power while down: unflushed data goes, from a point `choose` picks.
    pub fn lose_power(
        &mut self,
        choose: impl FnMut() -> u64,
    ) -> Vec<(ksim_model::TopicPartition, Vec<(i64, u64)>)> {
        match &mut self.process {
            BrokerProcess::Down { disk, .. } => disk.lose_power(choose).into_iter().collect(),
            _ => panic!("broker {} must be down to lose power", self.id),
        }
    }

    pub fn broker(&self) -> Option<&Broker> {
        match &self.process {
            BrokerProcess::Running { broker, .. } => Some(broker),
            _ => None,
        }
    }

    fn running(&mut self) -> &mut Broker {
        match &mut self.process {
            BrokerProcess::Running { broker, .. } => broker,
            _ => panic!("broker {} is not running", self.id),
        }
    }
}

impl Process for BrokerNode {
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        let BrokerProcess::Down { disk, incarnation } =
            std::mem::replace(&mut self.process, BrokerProcess::Switching)
        else {
            panic!("broker {} started while running: crash it first", self.id);
        };
        let (broker, out) = Broker::start(
            self.id,
            self.config.clone(),
            self.topics.clone(),
            disk,
            incarnation + 1,
            now_ms,
        );
        self.process = BrokerProcess::Running {
            broker: Box::new(broker),
            incarnation: incarnation + 1,
        };
        out
    }
    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        self.running()
            .handle_message(now_ms, from, correlation_id, message)
    }
    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        self.running().on_disconnect(now_ms, peer)
    }
    fn on_inbound_closed(&mut self, _now_ms: u64, peer: NodeId) -> Vec<Output> {
        self.running().forget_requests_from(peer);
        Vec::new()
    }
    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        self.running().on_timeout(now_ms)
    }
    fn next_timeout(&self) -> Option<u64> {
        self.broker().and_then(|b| b.next_timeout())
    }
    fn replica_marks(&self) -> Vec<(TopicPartition, Marks)> {
        let Some(broker) = self.broker() else {
            return Vec::new();
        };
        broker
            .partitions
            .iter()
            // Internal topics (`__consumer_offsets`, `__transaction_state`) are not drawn: skip their many
            // partitions to keep sampling cheap.
            .filter(|(tp, _)| !tp.topic.starts_with("__"))
            .map(|(tp, p)| {
                let marks = Marks {
                    log_end_offset: p.log_end_offset(),
                    high_watermark: p.high_watermark,
                    leader_epoch: p.leader_epoch,
                    is_leader: p.is_leader(),
                };
                (tp.clone(), marks)
            })
            .collect()
    }
}

/// The controller process; its state (ZooKeeper's) outlives it.
pub struct ControllerNode {
    pub config: BrokerConfig,
    pub topics: Vec<TopicConfig>,
    pub running: Option<Controller>,
    pub durable: Option<ControllerState>,
}

impl ControllerNode {
    pub fn new(config: BrokerConfig, topics: Vec<TopicConfig>, brokers: i32) -> Self {
        let durable = Some(ControllerState::create(brokers, &topics));
        ControllerNode {
            config,
            topics,
            running: None,
            durable,
        }
    }

    pub fn crash(&mut self) {
        if let Some(c) = self.running.take() {
            self.durable = Some(c.into_state());
        }
    }

    pub fn state(&self) -> &ControllerState {
        match (&self.running, &self.durable) {
            (Some(c), _) => c.state(),
            (None, Some(s)) => s,
            (None, None) => unreachable!("controller state is always somewhere"),
        }
    }

    fn controller(&mut self) -> &mut Controller {
        self.running.as_mut().expect("controller is not running")
    }
}

impl Process for ControllerNode {
    fn start(&mut self, now_ms: u64) -> Vec<Output> {
        let state = self
            .durable
            .take()
            .expect("controller started while running: crash it first");
        let (controller, out) =
            Controller::start(state, self.config.clone(), self.topics.clone(), now_ms);
        self.running = Some(controller);
        out
    }
    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    ) -> Vec<Output> {
        self.controller()
            .handle_message(now_ms, from, correlation_id, message)
    }
    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) -> Vec<Output> {
        self.controller().on_disconnect(now_ms, peer)
    }
    fn on_timeout(&mut self, now_ms: u64) -> Vec<Output> {
        self.controller().on_timeout(now_ms)
    }
    fn next_timeout(&self) -> Option<u64> {
        self.running.as_ref().and_then(|c| c.next_timeout())
    }
}
