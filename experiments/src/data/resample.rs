//! (data-a) resample
