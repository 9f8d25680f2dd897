//! (data-b) batch
