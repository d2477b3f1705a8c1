//! Pixels in, typed findings out.
