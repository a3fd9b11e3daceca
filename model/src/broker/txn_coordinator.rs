//! The transaction coordinator a broker hosts for each `__transaction_state` partition it leads: the state is
//! loaded from that partition's log when the broker becomes its leader, every change is appended to the log
//! and takes effect (and is answered) once the high watermark passes it, and leadership lost drops it all.
//!
//! The coordinator epoch is the partition's leader epoch, as in Kafka; markers carry it so a partition leader can
//! refuse a deposed coordinator.

use super::Broker;
use crate::error::ErrorCode;
use crate::ids::{LeaderEpoch, NodeId, Offset, TopicPartition};
use crate::internal_topics::{partition_for, CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use crate::protocol::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, InitProducerIdRequest,
    InitProducerIdResponse, Message, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};
use crate::record::{BatchAttributes, InternalValue, Record};
use crate::txn::{Plan, TransactionCoordinator, TxnLogRecord, TxnResult};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The coordinator of one `__transaction_state` partition, while this broker leads it.
pub(super) struct HostedCoordinator {
    /// The partition's leader epoch when it was loaded: the coordinator epoch.
    pub coordinator_epoch: LeaderEpoch,
    pub txns: TransactionCoordinator,
    /// Records appended and waiting for the high watermark, in offset order.
    appends: Vec<TxnAppend>,
    /// Transactions whose markers are being written (see `txn_markers`).
    pub markers: BTreeMap<String, super::txn_markers::MarkerSend>,
}

struct TxnAppend {
    record: TxnLogRecord,
    /// One past the record's offset: the HW must reach it.
    required_offset: Offset,
    /// Kafka gives a transaction-log append the broker's `request.timeout.ms`; past it the change is dropped.
    deadline_ms: u64,
    /// The request to answer, with the error decided when the record was planned.
    reply: Option<(Reply, ErrorCode)>,
}

/// Whom to answer once an append commits, and how.
#[derive(Clone, Debug)]
pub(super) enum Reply {
    InitProducerId {
        to: NodeId,
        correlation_id: u64,
    },
    AddPartitions {
        to: NodeId,
        correlation_id: u64,
        partitions: Vec<TopicPartition>,
    },
    AddOffsets {
        to: NodeId,
        correlation_id: u64,
    },
    EndTxn {
        to: NodeId,
        correlation_id: u64,
    },
}

impl Reply {
    /// The response this request gets with `error` (for InitProducerId, with the id and epoch `record` holds).
    fn message(&self, error: ErrorCode, record: Option<&TxnLogRecord>) -> (NodeId, u64, Message) {
        match self {
            Reply::InitProducerId { to, correlation_id } => {
                let (producer_id, producer_epoch) = match record {
                    Some(r) if error == ErrorCode::NONE => (r.producer_id, r.producer_epoch),
                    _ => (NO_PRODUCER_ID, NO_PRODUCER_EPOCH),
                };
                let response = InitProducerIdResponse {
                    error,
                    producer_id,
                    producer_epoch,
                };
                (
                    *to,
                    *correlation_id,
                    Message::InitProducerIdResponse(response),
                )
            }
            Reply::AddPartitions {
                to,
                correlation_id,
                partitions,
            } => {
                let results = partitions.iter().map(|tp| (tp.clone(), error)).collect();
                let response = AddPartitionsToTxnResponse { results };
                (
                    *to,
                    *correlation_id,
                    Message::AddPartitionsToTxnResponse(response),
                )
            }
            Reply::AddOffsets { to, correlation_id } => (
                *to,
                *correlation_id,
                Message::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse { error }),
            ),
            Reply::EndTxn { to, correlation_id } => (
                *to,
                *correlation_id,
                Message::EndTxnResponse(EndTxnResponse { error }),
            ),
        }
    }
}

impl Broker {
    /// The `__transaction_state` partition of a transactional id.
    pub(super) fn txn_partition_of(&self, transactional_id: &str) -> i32 {
        partition_for(
            transactional_id,
            self.config.transaction_state_log_num_partitions,
        )
    }

    /// The hosted coordinator of `transactional_id`, or NOT_COORDINATOR.
    fn coordinator_of(&mut self, transactional_id: &str) -> Result<i32, ErrorCode> {
        let partition = self.txn_partition_of(transactional_id);
        if self.txn_coordinators.contains_key(&partition) {
            Ok(partition)
        } else {
            Err(ErrorCode::NOT_COORDINATOR)
        }
    }

    pub(super) fn handle_txn_init_producer_id(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: InitProducerIdRequest,
        transactional_id: String,
    ) {
        let reply = Reply::InitProducerId {
            to: from,
            correlation_id,
        };
        let partition = match self.coordinator_of(&transactional_id) {
            Ok(p) => p,
            Err(error) => return self.answer(&reply, error, None),
        };
        let known = self.txn_coordinators[&partition]
            .txns
            .get(&transactional_id)
            .is_some();
        if req.producer_id != NO_PRODUCER_ID {
            let check = self.txn_coordinators[&partition].txns.check_expected(
                &transactional_id,
                req.producer_id,
                req.producer_epoch,
            );
            match check {
                Err(error) => return self.answer(&reply, error, None),
                Ok(Some((producer_id, producer_epoch))) => {
                    let response = InitProducerIdResponse {
                        error: ErrorCode::NONE,
                        producer_id,
                        producer_epoch,
                    };
                    return self.send(
                        from,
                        correlation_id,
                        Message::InitProducerIdResponse(response),
                    );
                }
                Ok(None) => {}
            }
        }
        let new_producer_id = if known {
            None
        } else {
            match self.allocate_producer_id() {
                Some(id) => Some(id),
                None => return self.answer(&reply, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, None),
            }
        };
        let plan = self
            .txn_coordinators
            .get_mut(&partition)
            .unwrap()
            .txns
            .init_producer_id(
                now_ms,
                &transactional_id,
                req.transaction_timeout_ms,
                || new_producer_id.expect("a producer id is allocated for a new transactional id"),
            );
        let _ = self.execute(now_ms, partition, plan, Some(reply));
    }

    pub(super) fn handle_add_partitions_to_txn(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: AddPartitionsToTxnRequest,
    ) {
        let reply = Reply::AddPartitions {
            to: from,
            correlation_id,
            partitions: req.partitions.clone(),
        };
        self.plan_for(now_ms, &req.transactional_id, reply, |txns| {
            txns.add_partitions(
                now_ms,
                &req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                &req.partitions,
            )
        });
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction, so its markers reach
    /// the offsets committed inside it.
    pub(super) fn handle_add_offsets_to_txn(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: AddOffsetsToTxnRequest,
    ) {
        let reply = Reply::AddOffsets {
            to: from,
            correlation_id,
        };
        let offsets = TopicPartition::new(
            CONSUMER_OFFSETS_TOPIC,
            self.group_partition_of(&req.group_id),
        );
        self.plan_for(now_ms, &req.transactional_id, reply, |txns| {
            txns.add_partitions(
                now_ms,
                &req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                &[offsets],
            )
        });
    }

    pub(super) fn handle_end_txn(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: u64,
        req: EndTxnRequest,
    ) {
        let reply = Reply::EndTxn {
            to: from,
            correlation_id,
        };
        let result = if req.committed {
            TxnResult::Commit
        } else {
            TxnResult::Abort
        };
        self.plan_for(now_ms, &req.transactional_id, reply, |txns| {
            txns.end_transaction(
                now_ms,
                &req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                result,
            )
        });
    }

    /// Asks the coordinator of `transactional_id` for a plan and carries it out, or answers NOT_COORDINATOR.
    fn plan_for(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        reply: Reply,
        plan: impl FnOnce(&mut TransactionCoordinator) -> Plan,
    ) {
        match self.coordinator_of(transactional_id) {
            Err(error) => self.answer(&reply, error, None),
            Ok(partition) => {
                let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
                let plan = plan(&mut hosted.txns);
                let _ = self.execute(now_ms, partition, plan, Some(reply));
            }
        }
    }

    fn answer(&mut self, reply: &Reply, error: ErrorCode, record: Option<&TxnLogRecord>) {
        let (to, correlation_id, message) = reply.message(error, record);
        self.send(to, correlation_id, message);
    }

    /// Carries out a coordinator plan: answer now, or append its record to the partition's log (acks=all).
    /// Returns whether a record was appended.
    pub(super) fn execute(
        &mut self,
        now_ms: u64,
        partition: i32,
        plan: Plan,
        reply: Option<Reply>,
    ) -> bool {
        let (record, error) = match plan {
            Plan::Reply(error) => {
                if let Some(reply) = reply {
                    self.answer(&reply, error, None);
                }
                return false;
            }
            Plan::Persist { record, reply } => (record, reply),
        };
        let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC, partition);
        let min_isr = self.min_insync_replicas(&tp);
        let hw_min_isr = self.hw_min_isr(min_isr);
        let me = self.id;
        let log_partition = self
            .partitions
            .get_mut(&tp)
            .filter(|p| p.is_leader() && p.isr.len() >= min_isr);
        let Some(log_partition) = log_partition else {
            // Kafka answers NOT_ENOUGH_REPLICAS on the transaction log as COORDINATOR_NOT_AVAILABLE.
            let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
            hosted.txns.abandon(&record);
            if let Some(reply) = reply {
                self.answer(&reply, ErrorCode::COORDINATOR_NOT_AVAILABLE, None);
            }
            return false;
        };
        let value = Record {
            key: Some(Arc::from(record.transactional_id.as_bytes())),
            value: 0,
            timestamp_ms: now_ms,
            internal: Some(Arc::new(InternalValue::TransactionState(record.clone()))),
        };
        let offset = log_partition.append_as_leader(
            Arc::from([value]),
            None,
            BatchAttributes::default(),
            now_ms,
        );
        let hw = log_partition.maybe_advance_leader_hw(me, hw_min_isr);
        self.observe_opt(hw);
        // The answer's error is decided now (CONCURRENT_TRANSACTIONS for a fencing InitProducerId, after which
        // the client retries); it is sent once the record commits.
        self.txn_coordinators
            .get_mut(&partition)
            .unwrap()
            .appends
            .push(TxnAppend {
                record,
                required_offset: offset + 1,
                deadline_ms: now_ms + super::REQUEST_TIMEOUT_MS,
                reply: reply.map(|r| (r, error)),
            });
        true
    }

    /// After every step: host a coordinator for each `__transaction_state` partition led here (loading it from
    /// the log), drop those no longer led, complete the appends the HW has passed, abort transactions past their
    /// timeout, and write the markers due.
    pub(super) fn txn_tick(&mut self, now_ms: u64) {
        self.sync_hosted_coordinators();
        if now_ms >= self.next_txn_abort_check_ms {
            self.next_txn_abort_check_ms = now_ms
                + self
                    .config
                    .transaction_abort_timed_out_transaction_cleanup_interval_ms;
            let partitions: Vec<i32> = self.txn_coordinators.keys().copied().collect();
            for partition in partitions {
                let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
                for record in hosted.txns.abort_timed_out(now_ms) {
                    let plan = Plan::Persist {
                        record,
                        reply: ErrorCode::NONE,
                    };
                    let _ = self.execute(now_ms, partition, plan, None);
                }
            }
        }
        self.expire_txn_appends(now_ms);
        // A change that commits may start markers, and markers written here may complete a transaction at once
        // (a single-replica ISR): go on until nothing moves.
        loop {
            let completed = self.complete_txn_appends();
            let finished = self.send_txn_markers(now_ms);
            if completed == 0 && !finished {
                break;
            }
        }
    }

    fn sync_hosted_coordinators(&mut self) {
        let led = self.led_partitions(TRANSACTION_STATE_TOPIC);
        let stale: Vec<i32> = self
            .txn_coordinators
            .iter()
            .filter(|(partition, hosted)| led.get(partition) != Some(&hosted.coordinator_epoch))
            .map(|(partition, _)| *partition)
            .collect();
        for partition in stale {
            let hosted = self.txn_coordinators.remove(&partition).unwrap();
            for append in hosted.appends {
                if let Some((reply, _)) = append.reply {
                    self.answer(&reply, ErrorCode::NOT_COORDINATOR, None);
                }
            }
        }
        for (partition, epoch) in led {
            if self.txn_coordinators.contains_key(&partition) {
                continue;
            }
            let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC, partition);
            // Kafka loads the whole log: as its new leader, this replica's log is the partition's from now on.
            let log = &self.partitions[&tp].log;
            let records = log.file.batches().iter().flat_map(|b| b.records.iter());
            let txns =
                TransactionCoordinator::load(records.filter_map(|r| match r.internal.as_deref() {
                    Some(InternalValue::TransactionState(t)) => Some(t),
                    _ => None,
                }));
            self.txn_coordinators.insert(
                partition,
                HostedCoordinator {
                    coordinator_epoch: epoch,
                    txns,
                    appends: Vec::new(),
                    markers: BTreeMap::new(),
                },
            );
        }
    }

    /// Kafka's `appendTransactionToLog` on REQUEST_TIMED_OUT: the pending change is dropped and the client told
    /// COORDINATOR_NOT_AVAILABLE, so it retries. The record may still commit later; the log then says more than
    /// this coordinator's memory until the next load, as in Kafka.
    fn expire_txn_appends(&mut self, now_ms: u64) {
        let mut replies = Vec::new();
        for hosted in self.txn_coordinators.values_mut() {
            let (expired, waiting) = std::mem::take(&mut hosted.appends)
                .into_iter()
                .partition(|a: &TxnAppend| a.deadline_ms <= now_ms);
            hosted.appends = waiting;
            for append in expired {
                hosted.txns.abandon(&append.record);
                replies.extend(append.reply.map(|(reply, _)| reply));
            }
        }
        for reply in replies {
            self.answer(&reply, ErrorCode::COORDINATOR_NOT_AVAILABLE, None);
        }
    }

    /// The earliest deadline of a transaction-log append, for the broker's timer.
    pub(super) fn next_txn_append_deadline(&self) -> Option<u64> {
        self.txn_coordinators
            .values()
            .flat_map(|h| h.appends.iter().map(|a| a.deadline_ms))
            .min()
    }

    /// Appends the HW has passed take effect, and their requests are answered. Returns how many completed.
    fn complete_txn_appends(&mut self) -> usize {
        let mut count = 0;
        let partitions: Vec<i32> = self.txn_coordinators.keys().copied().collect();
        for partition in partitions {
            let tp = TopicPartition::new(TRANSACTION_STATE_TOPIC, partition);
            let hw = self.partitions[&tp].high_watermark;
            let hosted = self.txn_coordinators.get_mut(&partition).unwrap();
            let done = hosted
                .appends
                .iter()
                .take_while(|a| a.required_offset <= hw)
                .count();
            let committed: Vec<TxnAppend> = hosted.appends.drain(..done).collect();
            count += committed.len();
            for append in committed {
                hosted.txns.complete(&append.record);
                if let Some((reply, error)) = &append.reply {
                    let (to, correlation_id, message) = reply.message(*error, Some(&append.record));
                    self.out.push(crate::output::Output::Send {
                        to,
                        correlation_id,
                        message,
                    });
                }
            }
        }
        count
    }
}
