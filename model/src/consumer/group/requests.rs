//! What the group member's own requests in flight asked for (its fetcher keeps its own).

/// What a group request asked, kept to match its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum GroupPending {
    FindCoordinator,
    Join,
    Sync {
        generation: i32,
    },
    Heartbeat {
        generation: i32,
    },
    OffsetFetch,
    Commit {
        id: u64,
    },
    /// LeaveGroup is sent and forgotten: the member is out whatever the answer.
    Leave,
}

pub(super) type GroupRequests = crate::client::InFlightRequests<GroupPending>;

impl GroupRequests {
    pub fn in_flight(&self, pending: &GroupPending) -> bool {
        self.any(None, |p| p == pending)
    }

    pub fn any_of(&self, is: impl Fn(&GroupPending) -> bool) -> bool {
        self.any(None, is)
    }
}
