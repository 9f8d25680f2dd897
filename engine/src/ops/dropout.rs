//! Dropout with a mask from a seeded RNG.
