//! Batch normalisation (train and eval) and layer normalisation.
