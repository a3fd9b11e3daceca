//! BrokerRegistration (API key 62) and BrokerHeartbeat (API key 63): how the controller knows which brokers live.

use crate::error::ErrorCode;
use crate::ids::BrokerId;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BrokerRegistrationRequest {
    pub broker_id: BrokerId,
    /// Distinguishes incarnations of one broker: each start registers anew.
    pub incarnation: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BrokerRegistrationResponse {
    pub error: ErrorCode,
    pub broker_epoch: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BrokerHeartbeatRequest {
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BrokerHeartbeatResponse {
    pub error: ErrorCode,
}
