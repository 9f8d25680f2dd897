//! (data-b) gp
