//! (data-a) nstdb
