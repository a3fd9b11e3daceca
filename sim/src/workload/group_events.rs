//! What a group member's consumer tells its application about membership, as the history records it.

use crate::history::GroupOp;
use ksim_model::consumer::group::GroupEvent;

/// The history's record of a membership event (assigned, revoked or lost, a fetched committed offset, a reset);
/// None for a commit's end, which each application records with what only it knows.
pub fn membership_op(group: &str, process: u32, now_ms: u64, event: GroupEvent) -> Option<GroupOp> {
    let group = group.to_string();
    let op = match event {
        GroupEvent::Assigned {
            generation,
            member_id,
            partitions,
        } => GroupOp::Assigned {
            group,
            process,
            member_id,
            generation,
            partitions,
            at_ms: now_ms,
        },
        GroupEvent::Revoked { partitions, lost } => GroupOp::Revoked {
            group,
            process,
            partitions,
            lost,
            at_ms: now_ms,
        },
        GroupEvent::Fetched { tp, committed } => GroupOp::Fetched {
            group,
            process,
            tp,
            committed,
            at_ms: now_ms,
        },
        GroupEvent::Reset { tp, from, to } => GroupOp::Reset {
            group,
            process,
            tp,
            from,
            to,
            at_ms: now_ms,
        },
        GroupEvent::Committed { .. } => return None,
    };
    Some(op)
}
