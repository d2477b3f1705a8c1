//! Pixels to model input tensors, as a model's manifest `preprocess` entry describes.
//!
//! One implementation for every image model, so a model swapped in the manifest gets the
//! layout, channel order and normalisation it declares without code changes.

use verifier_models::{Channels, Layout, Preprocess};

use crate::model::Tensor;

/// Builds a `[1, 3, height, width]` (NCHW) or `[1, height, width, 3]` (NHWC) tensor from RGB
/// pixels (`width * height * 3` bytes), padding with zeros to `padded` = `[width, height]`.
///
/// `padded` must be at least the image size; smaller values are raised to it.
pub fn rgb_to_tensor(rgb: &[u8], size: [u32; 2], padded: [u32; 2], pre: &Preprocess) -> Tensor {
    let (w, h) = (size[0] as usize, size[1] as usize);
    let (pw, ph) = ((padded[0] as usize).max(w), (padded[1] as usize).max(h));
    let order: [usize; 3] = match pre.channels {
        Channels::Rgb => [0, 1, 2],
        Channels::Bgr => [2, 1, 0],
    };
    let mut data = vec![0f32; 3 * pw * ph];
    for y in 0..h {
        for x in 0..w {
            let px = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            for (c, &src) in order.iter().enumerate() {
                let v = (f32::from(px[src]) - pre.mean[c]) * pre.scale;
                let at = match pre.layout {
                    Layout::Nchw => (c * ph + y) * pw + x,
                    Layout::Nhwc => (y * pw + x) * 3 + c,
                };
                data[at] = v;
            }
        }
    }
    let shape = match pre.layout {
        Layout::Nchw => vec![1, 3, ph, pw],
        Layout::Nhwc => vec![1, ph, pw, 3],
    };
    Tensor { shape, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(layout: Layout, channels: Channels, expect: &[f32]) {
        let pre = Preprocess { layout, channels, scale: 0.5, mean: [1.0, 1.0, 1.0], size: None, multiple_of: None };
        // One row of two pixels: (1,3,5) and (7,9,11), padded to 2x2.
        let t = rgb_to_tensor(&[1, 3, 5, 7, 9, 11], [2, 1], [2, 2], &pre);
        assert_eq!(t.data, expect, "{layout:?} {channels:?}");
    }

    #[test]
    fn layouts_and_orders() {
        check(Layout::Nchw, Channels::Rgb, &[0., 3., 0., 0., 1., 4., 0., 0., 2., 5., 0., 0.]);
        check(Layout::Nchw, Channels::Bgr, &[2., 5., 0., 0., 1., 4., 0., 0., 0., 3., 0., 0.]);
        check(Layout::Nhwc, Channels::Rgb, &[0., 1., 2., 3., 4., 5., 0., 0., 0., 0., 0., 0.]);
    }

    #[test]
    fn padding_right_and_below_stays_zero() {
        let pre = Preprocess {
            layout: Layout::Nchw,
            channels: Channels::Rgb,
            scale: 1.0,
            mean: [0.0; 3],
            size: None,
            multiple_of: None,
        };
        // A 1x2 column of (1,2,3) over (4,5,6), padded to 2x3.
        let t = rgb_to_tensor(&[1, 2, 3, 4, 5, 6], [1, 2], [2, 3], &pre);
        assert_eq!(t.shape, vec![1, 3, 3, 2]);
        assert_eq!(t.data, [1., 0., 4., 0., 0., 0., 2., 0., 5., 0., 0., 0., 3., 0., 6., 0., 0., 0.]);
        let t = rgb_to_tensor(&[1, 2, 3, 4, 5, 6], [1, 2], [2, 3], &Preprocess { layout: Layout::Nhwc, ..pre });
        assert_eq!(t.data, [1., 2., 3., 0., 0., 0., 4., 5., 6., 0., 0., 0., 0., 0., 0., 0., 0., 0.]);
        let empty = rgb_to_tensor(&[], [0, 0], [32, 32], &pre);
        assert!(empty.data.iter().all(|&v| v == 0.0) && empty.data.len() == 3 * 32 * 32);
    }
}
