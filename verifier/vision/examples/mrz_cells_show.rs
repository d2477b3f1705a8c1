//! Shows what the MRZ reader saw in one image: the character cells it cut, as the recognition
//! network receives them, one row of cells per line, written to a PNG (ink dark on white), and
//! what it read, on stdout.
//!
//! ```text
//! cargo run --release -p vision --example mrz_cells_show -- IMAGE OUT.png [templates]
//! ```
//!
//! For looking into a misread (a specimen scan, a frame `mrz_eval misses=DIR` kept): the cells
//! are document data, so use it on test images only.
#![allow(clippy::disallowed_methods)] // A debugging tool: it reads and writes files.

use vision::frame::decode;
use vision::mrz::{NET_CELL_HEIGHT, NET_CELL_WIDTH, read_mrz_with_cells};

mod common;

/// Each cell is drawn this many times larger.
const ZOOM: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(out)) = (args.first(), args.get(1)) else {
        return Err("usage: IMAGE OUT.png [templates]".into());
    };
    let reader = common::reader(common::Recogniser::from_args(&args), common::settings(&args).0)?;
    let frame = decode(&std::fs::read(input)?, &common::LIMITS)?;
    let today = common::mrz_date(datasets_synthetic::default_reference_date())?;
    let (read, cells) = read_mrz_with_cells(&frame, &reader, today)?;
    for line in read.lines() {
        println!("{}", line.text().expose());
    }
    println!("issue: {:?}", read.issue());
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let (cw, ch) = (NET_CELL_WIDTH * ZOOM + 2, NET_CELL_HEIGHT * ZOOM + 2);
    let mut img =
        image::GrayImage::from_pixel((columns * cw) as u32, (cells.len().max(1) * ch) as u32, image::Luma([128]));
    for (row, line) in cells.iter().enumerate() {
        for (col, cell) in line.iter().enumerate() {
            for y in 0..NET_CELL_HEIGHT * ZOOM {
                for x in 0..NET_CELL_WIDTH * ZOOM {
                    let v = cell[(y / ZOOM) * NET_CELL_WIDTH + x / ZOOM].clamp(0.0, 1.0);
                    let px = image::Luma([(255.0 * (1.0 - v)).round() as u8]);
                    img.put_pixel((col * cw + 1 + x) as u32, (row * ch + 1 + y) as u32, px);
                }
            }
        }
    }
    img.save(out)?;
    Ok(())
}
