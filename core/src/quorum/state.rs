//! The quorum's persistent election state: Kafka's `quorum-state` file.
//!
//! Raft's safety rests on two facts surviving any crash: the current epoch, and whom this
//! voter voted for in it. Kafka keeps them in a small JSON file next to the metadata log and
//! fsyncs it before answering a vote.

use serde::{Deserialize, Serialize};

/// The file's name inside the metadata log directory.
pub const FILE: &str = "quorum-state";

/// What `quorum-state` holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectionState {
    /// The current epoch.
    pub leader_epoch: i32,
    /// The candidate voted for in this epoch, or -1.
    pub voted_id: i32,
    /// The known leader of this epoch, or -1.
    pub leader_id: i32,
}

impl ElectionState {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("election state serializes")
    }

    /// Parse the file; a damaged file is an error message.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_kafkas_field_names() {
        let s = ElectionState {
            leader_epoch: 3,
            voted_id: 2,
            leader_id: -1,
        };
        let bytes = s.encode();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"{"leaderEpoch":3,"votedId":2,"leaderId":-1}"#
        );
        assert_eq!(ElectionState::parse(&bytes), Ok(s));
        assert!(ElectionState::parse(b"{").is_err());
    }
}
