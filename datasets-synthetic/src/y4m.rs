//! YUV4MPEG2 (Y4M) writing: the uncompressed format Chromium's
//! `--use-file-for-fake-video-capture` reads as a camera.
//!
//! Owns RGB to Y'CbCr 4:2:0 conversion (BT.601, limited range, which is what Chromium assumes for
//! camera I420 frames; chroma averaged over 2x2 blocks, i.e. centred siting, `C420jpeg`) and the
//! stream header. Files and sockets are the caller's: frames are appended to any `Write`.

use std::io::Write;

use image::RgbImage;

use crate::Error;

/// Writes a Y4M stream frame by frame.
pub struct Y4mWriter<W: Write> {
    out: W,
    width: u32,
    height: u32,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the stream header. Width and height must be even (4:2:0 subsampling); `fps` is a
    /// whole number of frames per second.
    pub fn new(mut out: W, width: u32, height: u32, fps: u32) -> Result<Y4mWriter<W>, Error> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 || fps == 0 {
            return Err(Error::BadSpec {
                reason: format!("y4m needs even, non-zero sizes and fps (got {width}x{height} at {fps})"),
            });
        }
        writeln!(out, "YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg").map_err(io)?;
        Ok(Y4mWriter { out, width, height })
    }

    /// Appends one frame, which must have the stream's size.
    pub fn write_frame(&mut self, frame: &RgbImage) -> Result<(), Error> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(Error::BadSpec {
                reason: format!("frame {:?} in a {}x{} stream", frame.dimensions(), self.width, self.height),
            });
        }
        let (y, u, v) = rgb_to_i420(frame);
        self.out.write_all(b"FRAME\n").map_err(io)?;
        self.out.write_all(&y).map_err(io)?;
        self.out.write_all(&u).map_err(io)?;
        self.out.write_all(&v).map_err(io)?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Io { path: "y4m stream".to_owned(), reason: e.to_string() }
}

/// Converts RGB to I420 planes (Y, U, V), BT.601 limited range. Sizes must be even.
pub fn rgb_to_i420(img: &RgbImage) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let mut y = vec![0u8; w * h];
    let (cw, ch) = (w / 2, h / 2);
    let mut u = vec![0u8; cw * ch];
    let mut v = vec![0u8; cw * ch];
    for j in 0..h {
        for i in 0..w {
            let o = (j * w + i) * 3;
            let (r, g, b) = (i32::from(raw[o]), i32::from(raw[o + 1]), i32::from(raw[o + 2]));
            y[j * w + i] = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16).clamp(0, 255) as u8;
        }
    }
    for j in 0..ch {
        for i in 0..cw {
            let (mut r, mut g, mut b) = (0i32, 0i32, 0i32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let o = ((2 * j + dy) * w + 2 * i + dx) * 3;
                r += i32::from(raw[o]);
                g += i32::from(raw[o + 1]);
                b += i32::from(raw[o + 2]);
            }
            let (r, g, b) = ((r + 2) / 4, (g + 2) / 4, (b + 2) / 4);
            u[j * cw + i] = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
            v[j * cw + i] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
        }
    }
    (y, u, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_frame_sizes() {
        let mut w = Y4mWriter::new(Vec::new(), 4, 2, 30).expect("valid size");
        let img = RgbImage::from_pixel(4, 2, image::Rgb([255, 255, 255]));
        w.write_frame(&img).expect("same size");
        let bytes = w.finish().expect("in memory");
        let header = b"YUV4MPEG2 W4 H2 F30:1 Ip A1:1 C420jpeg\n";
        assert!(bytes.starts_with(header));
        let body = &bytes[header.len()..];
        assert_eq!(body.len(), 6 + 8 + 2 + 2);
        assert_eq!(&body[6..14], &[235; 8], "white is Y=235 in limited range");
        assert_eq!(&body[14..16], &[128, 128]);
        assert!(Y4mWriter::new(Vec::new(), 3, 2, 30).is_err());
        assert!(w_size_mismatch());
    }

    fn w_size_mismatch() -> bool {
        let mut w = Y4mWriter::new(Vec::new(), 4, 2, 30).expect("valid size");
        w.write_frame(&RgbImage::new(2, 2)).is_err()
    }
}
