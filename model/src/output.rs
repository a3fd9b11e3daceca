//! What a model step asks its host to do: send a message, drop a connection, or record an observation.

use crate::ids::NodeId;
use crate::observe::Observation;
use crate::protocol::Message;

#[derive(Clone, Debug)]
pub enum Output {
    /// Send `message` to `to` on the connection between the two nodes (ordered, like TCP).
    Send {
        to: NodeId,
        correlation_id: u64,
        message: Message,
    },
    /// Close the connection to a peer, failing whatever is in flight on it (a client's `request.timeout.ms`).
    Disconnect(NodeId),
    /// Something the checkers and the trace need to know; it has no effect on the cluster.
    Observe(Observation),
}
