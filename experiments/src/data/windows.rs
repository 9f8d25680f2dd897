//! (data-a) windows
