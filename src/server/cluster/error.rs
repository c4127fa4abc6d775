//! Why a node could not join its cluster at start-up.

use std::fmt;

use crate::cluster::RedisError;

/// Why `--cluster` could not be honoured.
#[derive(Debug)]
pub enum ClusterError {
    /// A malformed `--node-id`.
    BadNodeId(String),
    /// The URL or the password file is wrong.
    Redis(RedisError),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::BadNodeId(id) => {
                write!(f, "--node-id {id:?}: a node id is 1-32 of A-Z a-z 0-9 _ -")
            }
            ClusterError::Redis(e) => write!(f, "--cluster: {e}"),
        }
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClusterError::Redis(e) => Some(e),
            ClusterError::BadNodeId(_) => None,
        }
    }
}

impl From<RedisError> for ClusterError {
    fn from(e: RedisError) -> ClusterError {
        ClusterError::Redis(e)
    }
}
