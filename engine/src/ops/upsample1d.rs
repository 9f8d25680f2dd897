//! Nearest and linear upsampling of NCL signals.
