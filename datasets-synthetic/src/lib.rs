//! Labelled synthetic identity documents, camera frames and capture videos.
