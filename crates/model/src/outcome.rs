//! What a write did, where the answer depends on it (201 or 200).

/// Whether a config PATCH inserted version N+1 or changed the latest version in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    NewVersion,
    UpdatedInPlace,
}

/// Whether registering a run inserted it or found the same registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOutcome {
    Created,
    AlreadyRegistered,
}
