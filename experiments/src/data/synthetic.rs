//! (data-b) synthetic
