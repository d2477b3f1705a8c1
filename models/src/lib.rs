//! Model manifest.
