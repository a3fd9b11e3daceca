//! Two model clients in one process (a consumer and a producer) share the node's one connection per broker:
//! correlation ids carry which client asked and which incarnation of it, so each answer reaches the client that
//! asked, and an answer to a client the application closed is dropped, as its closed socket would drop it.

use ksim_model::Output;

/// The models number their requests far below this (a group consumer's own requests start at 2^40).
const CLIENT_BIT: u64 = 1 << 55;
/// The incarnation sits in the top byte.
const INCARNATION_SHIFT: u32 = 56;

/// Which of the process's clients a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Consumer,
    Producer,
}

/// Tags the requests among `out` as `side`'s, of `incarnation`.
pub fn tag(out: Vec<Output>, side: Side, incarnation: u8) -> Vec<Output> {
    out.into_iter()
        .map(|o| match o {
            Output::Send {
                to,
                correlation_id,
                message,
            } => {
                assert!(
                    correlation_id < CLIENT_BIT,
                    "correlation id {correlation_id} collides with the tag"
                );
                let side_bit = if side == Side::Producer {
                    CLIENT_BIT
                } else {
                    0
                };
                Output::Send {
                    to,
                    correlation_id: (u64::from(incarnation) << INCARNATION_SHIFT)
                        | side_bit
                        | correlation_id,
                    message,
                }
            }
            other => other,
        })
        .collect()
}

/// Whose answer this is, with the client's own correlation id; None for an earlier incarnation's.
pub fn untag(correlation_id: u64, incarnation: u8) -> Option<(Side, u64)> {
    if correlation_id >> INCARNATION_SHIFT != u64::from(incarnation) {
        return None;
    }
    let side = if correlation_id & CLIENT_BIT != 0 {
        Side::Producer
    } else {
        Side::Consumer
    };
    let own = correlation_id & (CLIENT_BIT - 1);
    Some((side, own))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ksim_model::protocol::{Message, MetadataRequest};
    use ksim_model::NodeId;

    fn request(correlation_id: u64) -> Output {
        Output::Send {
            to: NodeId::Broker(1),
            correlation_id,
            message: Message::MetadataRequest(MetadataRequest { topics: None }),
        }
    }

    fn tagged(side: Side, incarnation: u8, correlation_id: u64) -> u64 {
        match &tag(vec![request(correlation_id)], side, incarnation)[0] {
            Output::Send { correlation_id, .. } => *correlation_id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_go_back_to_the_client_that_asked() {
        let consumer = tagged(Side::Consumer, 3, 7);
        let producer = tagged(Side::Producer, 3, 7);
        assert_ne!(consumer, producer);
        assert_eq!(untag(consumer, 3), Some((Side::Consumer, 7)));
        assert_eq!(untag(producer, 3), Some((Side::Producer, 7)));
        let group = tagged(Side::Consumer, 3, 1 << 40);
        assert_eq!(untag(group, 3), Some((Side::Consumer, 1 << 40)));
    }

    #[test]
    fn an_earlier_incarnations_answer_is_dropped() {
        assert_eq!(untag(tagged(Side::Producer, 2, 7), 3), None);
    }
}
