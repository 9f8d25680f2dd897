//! (data-a) wfdb
