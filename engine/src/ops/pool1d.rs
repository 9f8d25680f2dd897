//! 1D max and average pooling, and global average pooling.
