//! What Kafka's producer and consumer share: the `NetworkClient` bookkeeping of requests in flight.

mod in_flight;

pub use in_flight::{InFlight, InFlightRequests};
