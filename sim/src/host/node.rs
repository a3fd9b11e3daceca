//! A simulated node: one madsim node running a model process, its TCP-like connections, and its timers.
//!
//! Connections are madsim's reliable ordered channels: ordered per connection, delayed (not dropped) by a
//! partition, broken when a peer's process dies. What a peer sent before it died still arrives, unless it died of a
//! power cut (see `power_cuts`). A node opens its own connection to send requests and answers on the connection a
//! request came in on, as Kafka does over TCP.

use super::power_cuts::PowerCuts;
use super::process::Process;
use super::recorder::SharedRecorder;
use super::wait::{self, Armed, Wake};
use super::Clock;
use ksim_model::protocol::Message;
use ksim_model::{NodeId, Output};
use madsim::net::{Endpoint, Receiver, Sender};
use madsim::task::JoinHandle;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What crosses a connection: the sender's power cuts so far, the correlation id and the message.
pub type Envelope = (u64, u64, Message);

pub const PORT: u16 = 9092;

/// Each node's fixed IP address.
pub fn address(node: NodeId) -> SocketAddr {
    let ip = match node {
        NodeId::Broker(b) => Ipv4Addr::new(10, 0, 0, b as u8),
        NodeId::Controller => Ipv4Addr::new(10, 0, 1, 1),
        NodeId::Client(c) => Ipv4Addr::new(10, 0, 2, c as u8),
    };
    SocketAddr::new(IpAddr::V4(ip), PORT)
}

/// The node an address belongs to.
pub fn node_of(addr: SocketAddr) -> NodeId {
    let IpAddr::V4(ip) = addr.ip() else {
        panic!("unexpected address {addr}")
    };
    let [_, _, kind, n] = ip.octets();
    match kind {
        0 => NodeId::Broker(n as i32),
        1 => NodeId::Controller,
        _ => NodeId::Client(n as u32),
    }
}

enum Event {
    Message {
        conn: u64,
        from: NodeId,
        correlation_id: u64,
        message: Message,
    },
    Closed {
        conn: u64,
        peer: NodeId,
    },
    /// `peer` opened a new connection to us, replacing the one its earlier requests came in on.
    InboundReplaced {
        peer: NodeId,
    },
}

struct Connection {
    id: u64,
    sender: Sender,
    reader: JoinHandle<()>,
}

/// The node's connections: the ones it opened (for its requests) and the ones it accepted (for its answers).
struct Connections {
    outbound: BTreeMap<NodeId, Connection>,
    inbound: BTreeMap<NodeId, Connection>,
    next_id: u64,
}

impl Connections {
    fn is_current(&self, conn: u64) -> bool {
        self.outbound
            .values()
            .chain(self.inbound.values())
            .any(|c| c.id == conn)
    }

    fn remove(&mut self, conn: u64) {
        self.outbound.retain(|_, c| c.id != conn);
        self.inbound.retain(|_, c| c.id != conn);
    }
}

/// Deadline wakes at one instant after which a node is taken to spin: far more than any process does legitimately
/// (each wake sends or expires something), few enough to fail in well under a second.
const SPIN_LIMIT: u32 = 100_000;

/// Runs `process` on the current madsim node until the node is killed.
pub async fn run_node(
    me: NodeId,
    process: Arc<Mutex<dyn Process>>,
    recorder: SharedRecorder,
    clock: Clock,
    power_cuts: PowerCuts,
) {
    let endpoint = Endpoint::bind(address(me)).await.expect("bind");
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let conns = Arc::new(Mutex::new(Connections {
        outbound: BTreeMap::new(),
        inbound: BTreeMap::new(),
        next_id: 0,
    }));
    madsim::task::spawn(accept_loop(
        endpoint.clone(),
        conns.clone(),
        events_tx.clone(),
        power_cuts.clone(),
    ));

    let out = process.lock().unwrap().start(clock.now_ms());
    let sampling = recorder.lock().unwrap().samples.is_some();
    let mut node = NodeLoop {
        sampling,
        me,
        endpoint,
        conns,
        events_tx,
        recorder,
        clock,
        process,
        power_cuts,
    };
    node.sample_marks(clock.now_ms());
    node.carry_out(out).await;
    let mut armed = Armed::default();
    // Deadline wakes in a row at one simulated instant: simulated time stands still while a node is busy, so a
    // process whose deadline stays due after `on_timeout` would hang the run; this names it instead.
    let mut spins = (0, 0u32);
    loop {
        let deadline = node.process.lock().unwrap().next_timeout();
        let event = wait::next(&mut events, deadline, node.clock, &mut armed).await;
        let now = node.clock.now_ms();
        let out = match event {
            Wake::Deadline => {
                spins = if spins.0 == now {
                    (now, spins.1 + 1)
                } else {
                    (now, 1)
                };
                assert!(
                    spins.1 < SPIN_LIMIT,
                    "{me:?} spins at {now} ms: its deadline {deadline:?} stays due after on_timeout"
                );
                node.process.lock().unwrap().on_timeout(now)
            }
            Wake::Closed => return,
            Wake::Event(Event::Message {
                conn,
                from,
                correlation_id,
                message,
            }) => {
                if !node.conns.lock().unwrap().is_current(conn) {
                    continue;
                }
                {
                    let mut rec = node.recorder.lock().unwrap();
                    rec.messages += 1;
                    if let Message::ProduceResponse(r) = &message {
                        let answered = &mut rec.history.produce_requests.answered;
                        for p in &r.partitions {
                            *answered.entry(p.error).or_default() += 1;
                        }
                    }
                }
                node.process
                    .lock()
                    .unwrap()
                    .handle_message(now, from, correlation_id, message)
            }
            Wake::Event(Event::Closed { conn, peer }) => {
                let inbound = {
                    let mut c = node.conns.lock().unwrap();
                    if !c.is_current(conn) {
                        continue;
                    }
                    let inbound = c.inbound.get(&peer).is_some_and(|i| i.id == conn);
                    c.remove(conn);
                    inbound
                };
                let mut process = node.process.lock().unwrap();
                let mut out = process.on_disconnect(now, peer);
                if inbound {
                    out.extend(process.on_inbound_closed(now, peer));
                }
                out
            }
            Wake::Event(Event::InboundReplaced { peer }) => {
                node.process.lock().unwrap().on_inbound_closed(now, peer)
            }
        };
        node.sample_marks(now);
        node.carry_out(out).await;
    }
}

async fn accept_loop(
    endpoint: Endpoint,
    conns: Arc<Mutex<Connections>>,
    events: mpsc::UnboundedSender<Event>,
    power_cuts: PowerCuts,
) {
    while let Ok((sender, receiver, addr)) = endpoint.accept1().await {
        let peer = node_of(addr);
        let mut c = conns.lock().unwrap();
        if c.inbound.contains_key(&peer) {
            // Before the new connection's first request, so the old one's parked requests go first.
            let _ = events.send(Event::InboundReplaced { peer });
        }
        c.next_id += 1;
        let id = c.next_id;
        let reader = madsim::task::spawn(read_loop(
            id,
            peer,
            receiver,
            events.clone(),
            power_cuts.clone(),
        ));
        if let Some(old) = c.inbound.insert(peer, Connection { id, sender, reader }) {
            old.reader.abort();
        }
    }
}

async fn read_loop(
    conn: u64,
    peer: NodeId,
    mut receiver: Receiver,
    events: mpsc::UnboundedSender<Event>,
    power_cuts: PowerCuts,
) {
    while let Ok(payload) = receiver.recv().await {
        let (cuts, correlation_id, message) = *payload.downcast::<Envelope>().expect("envelope");
        if power_cuts.lost(peer, cuts) {
            continue;
        }
        if events
            .send(Event::Message {
                conn,
                from: peer,
                correlation_id,
                message,
            })
            .is_err()
        {
            return;
        }
    }
    let _ = events.send(Event::Closed { conn, peer });
}

struct NodeLoop {
    me: NodeId,
    /// Whether the recorder wants replica marks for the HTML view (read once: it never changes during a run).
    sampling: bool,
    endpoint: Endpoint,
    conns: Arc<Mutex<Connections>>,
    events_tx: mpsc::UnboundedSender<Event>,
    recorder: SharedRecorder,
    clock: Clock,
    process: Arc<Mutex<dyn Process>>,
    power_cuts: PowerCuts,
}

impl NodeLoop {
    /// Hands the recorder the replica marks this step left, when it samples them: a read, under locks that no
    /// await separates, so the run is the same with or without it.
    fn sample_marks(&self, now_ms: u64) {
        let NodeId::Broker(broker) = self.me else {
            return;
        };
        if !self.sampling {
            return;
        }
        let marks = self.process.lock().unwrap().replica_marks();
        if let Some(samples) = self.recorder.lock().unwrap().samples.as_mut() {
            samples.record_marks(now_ms, broker, marks);
        }
    }

    /// Carries out a step's outputs; a send that fails breaks the connection, which the model then learns.
    async fn carry_out(&mut self, mut out: Vec<Output>) {
        while !out.is_empty() {
            let mut failed = Vec::new();
            for o in out {
                match o {
                    Output::Send {
                        to,
                        correlation_id,
                        message,
                    } => {
                        // Not part of the trace hash: a debugging view of the wire, on with RUST_LOG=ksim::net=trace.
                        tracing::trace!(target: "ksim::net", "{} {} -> {} #{} {:?}",
                            self.clock.now_ms(), self.me, to, correlation_id, message);
                        if let Message::ProduceRequest(r) = &message {
                            if r.acks != 0 {
                                let mut rec = self.recorder.lock().unwrap();
                                rec.history.produce_requests.sent += r.partitions.len() as u64;
                            }
                        }
                        if !self.send(to, correlation_id, message).await {
                            failed.push(to);
                        }
                    }
                    Output::Disconnect(peer) => self.close_outbound(peer),
                    Output::Observe(observation) => self
                        .recorder
                        .lock()
                        .unwrap()
                        .observe(self.clock.now_ms(), observation),
                }
            }
            out = Vec::new();
            failed.dedup();
            for peer in failed {
                let now = self.clock.now_ms();
                out.extend(self.process.lock().unwrap().on_disconnect(now, peer));
                self.sample_marks(now);
            }
        }
    }

    async fn send(&mut self, to: NodeId, correlation_id: u64, message: Message) -> bool {
        let is_response = is_response(&message);
        let envelope = (self.power_cuts.count(self.me), correlation_id, message);
        if is_response {
            // Answers go back on the connection the request came in on; if it is gone, so is the answer.
            let c = self.conns.lock().unwrap();
            let Some(conn) = c.inbound.get(&to) else {
                return true;
            };
            return conn.sender.send_blocking(envelope);
        }
        if !self.conns.lock().unwrap().outbound.contains_key(&to) && !self.connect(to).await {
            return false;
        }
        let mut c = self.conns.lock().unwrap();
        let ok = c.outbound[&to].sender.send_blocking(envelope);
        if !ok {
            if let Some(old) = c.outbound.remove(&to) {
                old.reader.abort();
            }
        }
        ok
    }

    async fn connect(&mut self, to: NodeId) -> bool {
        let Ok((sender, receiver)) = self.endpoint.connect1(address(to)).await else {
            return false;
        };
        let mut c = self.conns.lock().unwrap();
        c.next_id += 1;
        let id = c.next_id;
        let reader = madsim::task::spawn(read_loop(
            id,
            to,
            receiver,
            self.events_tx.clone(),
            self.power_cuts.clone(),
        ));
        c.outbound.insert(to, Connection { id, sender, reader });
        true
    }

    fn close_outbound(&mut self, peer: NodeId) {
        if let Some(old) = self.conns.lock().unwrap().outbound.remove(&peer) {
            old.reader.abort();
        }
    }
}

trait SendBlocking {
    fn send_blocking(&self, envelope: Envelope) -> bool;
}

impl SendBlocking for Sender {
    /// madsim's channel send completes at once (it only queues); poll it to completion without yielding.
    fn send_blocking(&self, envelope: Envelope) -> bool {
        let fut = self.send(Box::new(envelope));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r.is_ok(),
            std::task::Poll::Pending => unreachable!("madsim channel send never waits"),
        }
    }
}

fn is_response(message: &Message) -> bool {
    matches!(
        message,
        Message::ProduceResponse(_)
            | Message::FetchResponse(_)
            | Message::OffsetsForLeaderEpochResponse(_)
            | Message::MetadataResponse(_)
            | Message::LeaderAndIsrResponse(_)
            | Message::AlterPartitionResponse(_)
            | Message::BrokerRegistrationResponse(_)
            | Message::BrokerHeartbeatResponse(_)
            | Message::InitProducerIdResponse(_)
            | Message::CreatePartitionsResponse(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::recorder::Recorder;
    use crate::host::run::spawn_node;
    use madsim::runtime::{Handle, Runtime};

    /// A process whose deadline is always due and whose timeout handling changes nothing.
    struct Spinner;

    impl Process for Spinner {
        fn start(&mut self, _now_ms: u64) -> Vec<Output> {
            Vec::new()
        }
        fn handle_message(&mut self, _: u64, _: NodeId, _: u64, _: Message) -> Vec<Output> {
            Vec::new()
        }
        fn on_disconnect(&mut self, _now_ms: u64, _peer: NodeId) -> Vec<Output> {
            Vec::new()
        }
        fn on_timeout(&mut self, _now_ms: u64) -> Vec<Output> {
            Vec::new()
        }
        fn next_timeout(&self) -> Option<u64> {
            Some(5)
        }
    }

    #[test]
    fn a_process_whose_deadline_stays_due_fails_the_run_instead_of_hanging_it() {
        let run = std::thread::spawn(|| {
            Runtime::with_seed_and_config(1, madsim::Config::default()).block_on(async {
                let process: Arc<Mutex<dyn Process>> = Arc::new(Mutex::new(Spinner));
                let recorder: SharedRecorder = Arc::new(Mutex::new(Recorder::default()));
                let clock = Clock::new();
                let handle = Handle::current();
                let power_cuts = PowerCuts::default();
                spawn_node(
                    &handle,
                    NodeId::Client(1),
                    process,
                    &recorder,
                    clock,
                    &power_cuts,
                );
                madsim::time::sleep(std::time::Duration::from_secs(1)).await;
            })
        })
        .join();
        let panic = run.expect_err("the spinning node must fail the run");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("Client(1) spins at"), "{message}");
    }
}
