//! Waiting for a node's next event or its next deadline with one simulated timer per deadline.
//!
//! madsim's `Sleep` (and so `timeout`) adds a timer to the runtime's heap on every poll that finds it pending, and
//! a cancelled timer stays in the heap until its time comes. A node loop that wraps every receive in a timeout
//! therefore piles up timers; measured, expiring them was the largest single cost of a run. Here a timer is armed
//! only when the deadline changes.

use super::Clock;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// What woke the node.
pub enum Wake<T> {
    Event(T),
    /// Every sender is gone.
    Closed,
    /// The deadline passed.
    Deadline,
}

/// The deadline a timer is already armed for, kept across waits.
#[derive(Default)]
pub struct Armed(Option<u64>);

/// Waits for the next message on `events` or until `deadline_ms` (simulated), whichever comes first.
pub async fn next<T>(
    events: &mut UnboundedReceiver<T>,
    deadline_ms: Option<u64>,
    clock: Clock,
    armed: &mut Armed,
) -> Wake<T> {
    Next {
        events,
        deadline_ms,
        clock,
        armed,
    }
    .await
}

struct Next<'a, T> {
    events: &'a mut UnboundedReceiver<T>,
    deadline_ms: Option<u64>,
    clock: Clock,
    armed: &'a mut Armed,
}

impl<T> Future for Next<'_, T> {
    type Output = Wake<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Wake<T>> {
        if let Poll::Ready(event) = self.events.poll_recv(cx) {
            return Poll::Ready(event.map_or(Wake::Closed, Wake::Event));
        }
        let Some(deadline) = self.deadline_ms else {
            return Poll::Pending;
        };
        if self.clock.now_ms() >= deadline {
            return Poll::Ready(Wake::Deadline);
        }
        // A timer armed for an earlier deadline wakes us in time to arm this one; a later or missing one does not.
        if self
            .armed
            .0
            .is_none_or(|at| at > deadline || at <= self.clock.now_ms())
        {
            // The sleep is dropped at once: madsim keeps its timer and wakes this task at the deadline anyway
            // (madsim 0.2.34 never cancels a timer; the version is pinned in sim/Cargo.toml for this).
            let wait = Duration::from_millis(deadline - self.clock.now_ms());
            if pin!(madsim::time::sleep(wait)).poll(cx).is_ready() {
                return Poll::Ready(Wake::Deadline);
            }
            self.armed.0 = Some(deadline);
        }
        Poll::Pending
    }
}
