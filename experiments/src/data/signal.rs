//! (data-b) signal
