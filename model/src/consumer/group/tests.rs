//! Transcripts of a group member against a scripted coordinator.
