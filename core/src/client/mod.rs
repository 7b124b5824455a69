//! Kafka clients: the producer and the consumer, as state machines.

pub mod consumer;
pub mod metadata;
pub mod network;
pub mod partitioner;
pub mod producer;
