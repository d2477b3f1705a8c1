//! The character cell's geometry, shared by `segment` (which cuts cells to it) and `recognise`
//! (whose templates are rendered to it): the sizes of a normalised cell, where the cap band sits
//! in it, and the wider cell with context the network reads. Nothing here reads pixels; what a
//! cell shows and where cells are cut are the other two modules' questions.
//!
//! A cell is one pitch wide at a fixed scale so that every print size and resolution meets the
//! recogniser at the same size: 16 pixels per pitch and a 16-pixel cap (OCR-B's caps are about
//! 2.4 mm at a 2.54 mm pitch) leave three rows of margin above and below for band errors.

/// Template cell width in pixels (one pitch).
pub(crate) const TW: usize = 16;
/// Template cell height in pixels.
pub(crate) const TH: usize = 22;
/// Cap height inside the cell, in pixels.
pub(crate) const CAP: usize = 16;
/// Rows above the cap band inside the cell.
pub(crate) const PAD: usize = 3;

/// Width of a cell with context (`Segmented::wide`): one and a half pitches, so the network
/// sees where the neighbours' ink starts and can tell a misplaced cell from a narrow glyph.
pub(crate) const NET_W: usize = 24;

/// One character cell: `TW * TH` darkness values in 0..=1, row-major, the cap band on rows
/// `PAD..PAD + CAP`.
pub(crate) type Cell = Vec<f32>;
