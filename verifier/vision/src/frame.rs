//! Decoded frames and the decoding of untrusted image bytes under size limits.
//!
//! Owns the `Frame` type (8-bit RGB, row-major, interleaved) and its creation from bytes. The
//! limits are checked on the header before any pixel is decoded, so a small file that claims
//! to be 8000x8000 is refused without allocating for it.

use std::io::Cursor;

use image::{ImageDecoder, ImageReader, RgbImage};

/// Which frame of a capture a finding came from: the caller's number (the session's frame
/// counter), carried through consensus and decisions so they can name their evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameId(pub u64);

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R, G, B`, values 0..=255.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    image: RgbImage,
}

impl std::fmt::Debug for Frame {
    // Pixels are biometric data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width(), self.height())
    }
}

impl Frame {
    /// Wraps an RGB image.
    pub fn from_rgb(image: RgbImage) -> Self {
        Self { image }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// The pixels, `width * height * 3` bytes.
    pub fn as_raw(&self) -> &[u8] {
        self.image.as_raw()
    }

    /// The underlying image.
    pub fn image(&self) -> &RgbImage {
        &self.image
    }

    /// A copy resized to `width` x `height` (each at least 1) with a bilinear filter.
    pub fn resized(&self, width: u32, height: u32) -> Frame {
        use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images};
        let (width, height) = (width.max(1), height.max(1));
        if (width, height) == (self.width(), self.height()) {
            return self.clone();
        }
        let src = images::ImageRef::new(self.width(), self.height(), self.as_raw(), PixelType::U8x3)
            .expect("a Frame's buffer always holds width * height RGB pixels");
        let mut dst = images::Image::new(width, height, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        Resizer::new().resize(&src, &mut dst, &options).expect("source and destination are both non-empty U8x3 images");
        let image =
            RgbImage::from_raw(width, height, dst.into_vec()).expect("the resizer fills width * height RGB pixels");
        Frame { image }
    }
}

/// Bounds on what `decode` accepts; set from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest encoded size, in bytes.
    pub max_bytes: usize,
    /// Largest `width * height`.
    pub max_pixels: u64,
    /// Largest width or height.
    pub max_side: u32,
}

/// Why bytes could not become a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The encoded data is larger than allowed.
    #[error("the image is {bytes} bytes, over the limit of {limit} bytes")]
    TooManyBytes {
        /// Size of the data.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The header declares dimensions over the limits.
    #[error("the image is {width}x{height}, over the limit of {max_side} pixels a side or {max_pixels} pixels")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Side limit.
        max_side: u32,
        /// Pixel-count limit.
        max_pixels: u64,
    },
    /// The header declares an empty image.
    #[error("the image is empty ({width}x{height})")]
    Empty {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// The data is not an image in a supported format.
    #[error("the data is not a supported image (JPEG, PNG, WebP or BMP)")]
    UnknownFormat,
    /// The data looked like an image but could not be decoded.
    #[error("the image is corrupt: {0}")]
    Corrupt(String),
}

/// Decodes untrusted image bytes into an RGB frame, checking `limits` before decoding pixels.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Frame, DecodeError> {
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::TooManyBytes { bytes: bytes.len(), limit: limits.max_bytes });
    }
    let reader =
        || ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| DecodeError::Corrupt(e.to_string()));
    let probe = reader()?;
    if probe.format().is_none() {
        return Err(DecodeError::UnknownFormat);
    }
    let (width, height) = probe.into_dimensions().map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(DecodeError::Empty { width, height });
    }
    if width > limits.max_side || height > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(DecodeError::TooLarge { width, height, max_side: limits.max_side, max_pixels: limits.max_pixels });
    }
    let mut reader = reader()?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    // Room for the decoded image in its widest pixel format (16-bit RGBA) plus the RGB copy.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(11));
    reader.limits(decoder_limits);
    let corrupt = |e: image::ImageError| DecodeError::Corrupt(e.to_string());
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    // Phones store portrait photos sideways with an EXIF orientation tag; faces must be upright.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(Frame::from_rgb(image.into_rgb8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits { max_bytes: 1 << 20, max_pixels: 10_000, max_side: 200 };

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        RgbImage::from_pixel(width, height, image::Rgb([10, 20, 30]))
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encoding a small PNG in memory cannot fail");
        out
    }

    fn check(bytes: &[u8], expect: &str) {
        let got = match decode(bytes, &LIMITS) {
            Ok(f) => format!("{f:?}"),
            Err(e) => e.to_string(),
        };
        assert!(got.contains(expect), "{got:?} does not contain {expect:?}");
    }

    #[test]
    fn decodes_within_limits() {
        check(&png(100, 50), "Frame(100x50)");
        let frame = decode(&png(2, 1), &LIMITS).unwrap();
        assert_eq!(frame.as_raw(), &[10, 20, 30, 10, 20, 30]);
    }

    #[test]
    fn refuses_before_decoding() {
        check(&png(201, 10), "201x10, over the limit");
        check(&png(150, 150), "150x150, over the limit");
        check(&vec![0u8; (1 << 20) + 1], "over the limit of 1048576 bytes");
    }

    /// A JPEG of `width` x `height` whose EXIF orientation tag is `orientation`, left half red.
    fn jpeg_with_orientation(width: u32, height: u32, orientation: u16) -> Vec<u8> {
        use image::ImageEncoder;
        let img = RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 { image::Rgb([250, 0, 0]) } else { image::Rgb([0, 0, 250]) }
        });
        // A big-endian TIFF header with one IFD entry: tag 0x0112 (orientation), SHORT, 1 value.
        let mut exif = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
        exif.extend_from_slice(&orientation.to_be_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
        encoder.set_exif_metadata(exif).expect("JPEG takes EXIF");
        encoder.write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8).expect("encodes");
        out
    }

    #[test]
    fn applies_the_exif_orientation() {
        // Orientation 6: the stored image must be turned 90 degrees clockwise to be upright, so
        // the stored left half (red) ends up on top.
        let frame = decode(&jpeg_with_orientation(40, 20, 6), &LIMITS).unwrap();
        assert_eq!((frame.width(), frame.height()), (20, 40));
        let top = frame.image().get_pixel(10, 5);
        let bottom = frame.image().get_pixel(10, 35);
        assert!(top[0] > 200 && bottom[2] > 200, "top {top:?}, bottom {bottom:?}");
        let upright = decode(&jpeg_with_orientation(40, 20, 1), &LIMITS).unwrap();
        assert_eq!((upright.width(), upright.height()), (40, 20));
    }

    #[test]
    fn refuses_garbage_and_truncation() {
        check(b"", "not a supported image");
        check(b"hello world, this is text", "not a supported image");
        let whole = png(100, 50);
        check(&whole[..whole.len() / 2], "corrupt");
        let mut header_only = whole[..40].to_vec();
        header_only.extend_from_slice(&[0; 8]);
        check(&header_only, "corrupt");
    }
}
