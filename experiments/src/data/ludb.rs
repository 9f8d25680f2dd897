//! (data-a) ludb
