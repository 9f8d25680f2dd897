//! Activations: ReLU, LeakyReLU, sigmoid, tanh, as forward/derivative pairs.
