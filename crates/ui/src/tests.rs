//! Route tests of the UI over a real store.
