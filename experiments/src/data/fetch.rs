//! (data-b) fetch
