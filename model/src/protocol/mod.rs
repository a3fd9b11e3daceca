//! Kafka's wire messages, one file per API, named after Kafka's API keys and fields.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_partition;
mod broker_heartbeat;
mod consumer_protocol;
mod create_partitions;
mod end_txn;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod init_producer_id;
mod join_group;
mod leader_and_isr;
mod leave_group;
mod metadata;
mod offset_commit;
mod offsets_for_leader_epoch;
mod produce;
mod sync_group;
mod txn_offset_commit;
mod write_txn_markers;

pub use add_offsets_to_txn::*;
pub use add_partitions_to_txn::*;
pub use alter_partition::*;
pub use broker_heartbeat::*;
pub use consumer_protocol::*;
pub use create_partitions::*;
pub use end_txn::*;
pub use fetch::*;
pub use find_coordinator::*;
pub use heartbeat::*;
pub use init_producer_id::*;
pub use join_group::*;
pub use leader_and_isr::*;
pub use leave_group::*;
pub use metadata::*;
pub use offset_commit::*;
pub use offsets_for_leader_epoch::*;
pub use produce::*;
pub use sync_group::*;
pub use txn_offset_commit::*;
pub use write_txn_markers::*;

use serde::{Deserialize, Serialize};

/// Every message that crosses the simulated network. Requests and their responses share a correlation id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Message {
    ProduceRequest(ProduceRequest),
    ProduceResponse(ProduceResponse),
    FetchRequest(FetchRequest),
    FetchResponse(FetchResponse),
    OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest),
    OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse),
    MetadataRequest(MetadataRequest),
    MetadataResponse(MetadataResponse),
    LeaderAndIsrRequest(LeaderAndIsrRequest),
    LeaderAndIsrResponse(LeaderAndIsrResponse),
    UpdateMetadataRequest(UpdateMetadataRequest),
    AlterPartitionRequest(AlterPartitionRequest),
    AlterPartitionResponse(AlterPartitionResponse),
    BrokerRegistrationRequest(BrokerRegistrationRequest),
    BrokerRegistrationResponse(BrokerRegistrationResponse),
    BrokerHeartbeatRequest(BrokerHeartbeatRequest),
    BrokerHeartbeatResponse(BrokerHeartbeatResponse),
    InitProducerIdRequest(InitProducerIdRequest),
    InitProducerIdResponse(InitProducerIdResponse),
    FindCoordinatorRequest(FindCoordinatorRequest),
    FindCoordinatorResponse(FindCoordinatorResponse),
    AddPartitionsToTxnRequest(AddPartitionsToTxnRequest),
    AddPartitionsToTxnResponse(AddPartitionsToTxnResponse),
    AddOffsetsToTxnRequest(AddOffsetsToTxnRequest),
    AddOffsetsToTxnResponse(AddOffsetsToTxnResponse),
    EndTxnRequest(EndTxnRequest),
    EndTxnResponse(EndTxnResponse),
    WriteTxnMarkersRequest(WriteTxnMarkersRequest),
    WriteTxnMarkersResponse(WriteTxnMarkersResponse),
    JoinGroupRequest(JoinGroupRequest),
    JoinGroupResponse(JoinGroupResponse),
    SyncGroupRequest(SyncGroupRequest),
    SyncGroupResponse(SyncGroupResponse),
    HeartbeatRequest(HeartbeatRequest),
    HeartbeatResponse(HeartbeatResponse),
    LeaveGroupRequest(LeaveGroupRequest),
    LeaveGroupResponse(LeaveGroupResponse),
    OffsetCommitRequest(OffsetCommitRequest),
    OffsetCommitResponse(OffsetCommitResponse),
    OffsetFetchRequest(OffsetFetchRequest),
    OffsetFetchResponse(OffsetFetchResponse),
    TxnOffsetCommitRequest(TxnOffsetCommitRequest),
    TxnOffsetCommitResponse(TxnOffsetCommitResponse),
    CreatePartitionsRequest(CreatePartitionsRequest),
    CreatePartitionsResponse(CreatePartitionsResponse),
}

impl Message {
    /// Kafka's API name, for traces.
    pub fn api_name(&self) -> &'static str {
        match self {
            Message::ProduceRequest(_) | Message::ProduceResponse(_) => "Produce",
            Message::FetchRequest(_) | Message::FetchResponse(_) => "Fetch",
            Message::OffsetsForLeaderEpochRequest(_)
            | Message::OffsetsForLeaderEpochResponse(_) => "OffsetsForLeaderEpoch",
            Message::MetadataRequest(_) | Message::MetadataResponse(_) => "Metadata",
            Message::LeaderAndIsrRequest(_) | Message::LeaderAndIsrResponse(_) => "LeaderAndIsr",
            Message::UpdateMetadataRequest(_) => "UpdateMetadata",
            Message::AlterPartitionRequest(_) | Message::AlterPartitionResponse(_) => {
                "AlterPartition"
            }
            Message::BrokerRegistrationRequest(_) | Message::BrokerRegistrationResponse(_) => {
                "BrokerRegistration"
            }
            Message::BrokerHeartbeatRequest(_) | Message::BrokerHeartbeatResponse(_) => {
                "BrokerHeartbeat"
            }
            Message::InitProducerIdRequest(_) | Message::InitProducerIdResponse(_) => {
                "InitProducerId"
            }
            Message::FindCoordinatorRequest(_) | Message::FindCoordinatorResponse(_) => {
                "FindCoordinator"
            }
            Message::AddPartitionsToTxnRequest(_) | Message::AddPartitionsToTxnResponse(_) => {
                "AddPartitionsToTxn"
            }
            Message::AddOffsetsToTxnRequest(_) | Message::AddOffsetsToTxnResponse(_) => {
                "AddOffsetsToTxn"
            }
            Message::EndTxnRequest(_) | Message::EndTxnResponse(_) => "EndTxn",
            Message::WriteTxnMarkersRequest(_) | Message::WriteTxnMarkersResponse(_) => {
                "WriteTxnMarkers"
            }
            Message::JoinGroupRequest(_) | Message::JoinGroupResponse(_) => "JoinGroup",
            Message::SyncGroupRequest(_) | Message::SyncGroupResponse(_) => "SyncGroup",
            Message::HeartbeatRequest(_) | Message::HeartbeatResponse(_) => "Heartbeat",
            Message::LeaveGroupRequest(_) | Message::LeaveGroupResponse(_) => "LeaveGroup",
            Message::OffsetCommitRequest(_) | Message::OffsetCommitResponse(_) => "OffsetCommit",
            Message::OffsetFetchRequest(_) | Message::OffsetFetchResponse(_) => "OffsetFetch",
            Message::TxnOffsetCommitRequest(_) | Message::TxnOffsetCommitResponse(_) => {
                "TxnOffsetCommit"
            }
            Message::CreatePartitionsRequest(_) | Message::CreatePartitionsResponse(_) => {
                "CreatePartitions"
            }
        }
    }
}
