//! DET curves (FNMR against FMR, both on log scales) drawn to PNG for the evaluations.
//!
//! Text is drawn with DejaVu Sans (Debian `fonts-dejavu-core`, installed by the set-up
//! script), registered once per process.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context;
use plotters::prelude::*;

/// The font the plots use.
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Rates are drawn from this floor up to 1 (a rate of 0 has no place on a log axis).
const FLOOR: f64 = 1e-4;

fn register_font() -> anyhow::Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = std::fs::read(FONT).map_err(|e| format!("cannot read {FONT} ({e}); install fonts-dejavu-core"))?;
        // Fonts live as long as the process; leaking the one registration is the price of
        // plotters' `&'static` font API.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{FONT} is not a usable font"))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// Draws the DET curve of `genuine` and `impostor` scores to `path`, marking `threshold`.
pub fn det_curve(path: &Path, genuine: &[f32], impostor: &[f32], threshold: f32, title: &str) -> anyhow::Result<()> {
    register_font()?;
    let (width, height) = (800u32, 640u32);
    let mut buffer = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        let draw = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing the DET curve: {e}");
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("DET curve: {title}"), ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((FLOOR..1.0).log_scale(), (FLOOR..1.0).log_scale())
            .map_err(|e| draw(&e))?;
        chart
            .configure_mesh()
            .x_desc("FMR (impostors accepted)")
            .y_desc("FNMR (genuine rejected)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| draw(&e))?;
        let points: Vec<(f64, f64)> = vision::metrics::det_curve(genuine, impostor)
            .into_iter()
            .map(|(x, y)| (x.max(FLOOR), y.max(FLOOR)))
            .collect();
        chart.draw_series(LineSeries::new(points, BLUE.stroke_width(2))).map_err(|e| draw(&e))?;
        let (fmr, fnmr) = vision::metrics::rates_at(genuine, impostor, threshold);
        chart
            .draw_series(std::iter::once(Circle::new((fmr.max(FLOOR), fnmr.max(FLOOR)), 6, RED.filled())))
            .map_err(|e| draw(&e))?
            .label(format!("threshold {threshold}: FMR {fmr:.4}, FNMR {fnmr:.4}"))
            .legend(|(x, y)| Circle::new((x, y), 5, RED.filled()));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| draw(&e))?;
        root.present().map_err(|e| draw(&e))?;
    }
    let image = image::RgbImage::from_raw(width, height, buffer).context("the plot buffer has the image's size")?;
    image.save(path).with_context(|| format!("cannot write {}", path.display()))
}
