//! The screen-flash nonce: a random sequence of colours the page shows around the face oval,
//! and the check that the face in the frames reflected that sequence, in order and in time.
//!
//! A live face in front of the screen takes on the screen's colour; a recording made earlier,
//! a virtual camera's frames, or a photo shown to the camera reflect nothing, or another
//! session's colours. The sequence is drawn per session from its seed and shown at times the
//! session chooses ([`FlashPlan::draw`]), so the page cannot know it in advance.
//!
//! The check ([`score`]) is pure: it takes the instants each colour was sent to the page and,
//! per analysed frame, its arrival instant and the mean colour of the face's skin. Each frame's
//! skin chromaticity (r, g, b over their sum) minus the face's own colour before and after the
//! flash is compared with the chromaticity the colour shown then would add; "then" is the
//! frame's arrival less a lag (screen, camera, encoding and network), searched over
//! `0..=max_lag`. The score is the best Pearson correlation over lags of the measured shifts with
//! the expected ones, over every frame and channel.

use std::time::{Duration, Instant};

use crate::challenge::Draw;

/// A colour the page can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlashColour {
    /// Pure red.
    Red,
    /// Pure green.
    Green,
    /// Pure blue.
    Blue,
    /// Yellow (red and green).
    Yellow,
    /// Magenta (red and blue).
    Magenta,
    /// Cyan (green and blue).
    Cyan,
}

impl FlashColour {
    /// Every colour, in the configuration's usual order.
    pub const ALL: [FlashColour; 6] = [
        FlashColour::Red,
        FlashColour::Green,
        FlashColour::Blue,
        FlashColour::Yellow,
        FlashColour::Magenta,
        FlashColour::Cyan,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashColour::Red => "red",
            FlashColour::Green => "green",
            FlashColour::Blue => "blue",
            FlashColour::Yellow => "yellow",
            FlashColour::Magenta => "magenta",
            FlashColour::Cyan => "cyan",
        }
    }

    /// From the wire name.
    pub fn parse(name: &str) -> Option<FlashColour> {
        FlashColour::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The colour as 8-bit sRGB, for the page.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            FlashColour::Red => [255, 0, 0],
            FlashColour::Green => [0, 255, 0],
            FlashColour::Blue => [0, 0, 255],
            FlashColour::Yellow => [255, 255, 0],
            FlashColour::Magenta => [255, 0, 255],
            FlashColour::Cyan => [0, 255, 255],
        }
    }

    /// The direction the colour moves a surface's chromaticity: its own chromaticity less
    /// neutral grey's (1/3 each).
    fn direction(self) -> [f32; 3] {
        let [r, g, b] = self.rgb().map(f32::from);
        let sum = r + g + b;
        [r / sum - 1.0 / 3.0, g / sum - 1.0 / 3.0, b / sum - 1.0 / 3.0]
    }
}

/// `[session.flash]`: the sequence and its check.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashConfig {
    /// Whether sessions show the flash at all.
    pub enabled: bool,
    /// Colours a sequence is drawn from (each once while some are unused, never the same twice
    /// in a row).
    pub colours: Vec<FlashColour>,
    /// Colours per sequence, at least and at most.
    pub min_colours: usize,
    /// See `min_colours`.
    pub max_colours: usize,
    /// How long each colour is shown, at least and at most (drawn per colour).
    pub min_colour: Duration,
    /// See `min_colour`.
    pub max_colour: Duration,
    /// Each colour lasts at least this many of the device's frame intervals (see
    /// [`FlashPlan::paced`]) ...
    pub frames_per_colour: f32,
    /// ... but at most this long.
    pub max_paced_colour: Duration,
    /// The flash step's budget, from its start to the check (lead-in, colours, `settle`): a
    /// plan that would run longer has its lead-in shortened, down to `min_lead_in`, then loses
    /// colours from its end, down to `min_colours` (see [`FlashPlan::paced`]).
    pub max_step: Duration,
    /// The wait before the first colour, at least and at most (drawn): the page cannot know
    /// when the flash starts.
    pub min_lead_in: Duration,
    /// See `min_lead_in`.
    pub max_lead_in: Duration,
    /// After the last colour, frames are still collected this long (their lag) before the check.
    pub settle: Duration,
    /// The largest lag searched between a colour sent and a frame showing it arriving.
    pub max_lag: Duration,
    /// Frames whose lagged instant is this close to a change of colour are left out: their
    /// exposure, and the lag's uncertainty, mix two colours.
    pub transition_guard: Duration,
    /// Frames whose lagged instant falls inside the colours, at least, for a verdict.
    pub min_frames: usize,
    /// Distinct colours those frames must cover, at least.
    pub min_distinct: usize,
    /// The correlation at or above which the face reflected the sequence.
    pub pass_correlation: f32,
    /// Below `pass_correlation` and at or above this, a reviewer looks; below, the frames did
    /// not come from a face in front of this session's screen.
    pub review_correlation: f32,
    /// The least gain (the face's chromaticity shift per unit of the colour's, fitted over the
    /// frames) for the face to have reflected anything: a photo or an injected stream changes
    /// by sensor noise only, whatever its correlation. Half of it and above is for a reviewer.
    pub min_gain: f32,
}

/// One session's colour sequence: the wait before it, then each colour and how long it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashPlan {
    /// Before the first colour.
    pub lead_in: Duration,
    /// The colours in order, each with its duration.
    pub steps: Vec<(FlashColour, Duration)>,
}

impl FlashPlan {
    /// Draws the plan for `seed` (deterministic for a seed, unpredictable to the client).
    pub fn draw(config: &FlashConfig, seed: u64) -> FlashPlan {
        // Its own stream, apart from the challenge's, from the same seed.
        let mut draw = Draw::new(seed ^ 0x5eed_f1a5_u64);
        let lead_in = draw.between(config.min_lead_in, config.max_lead_in);
        let lo = config.min_colours.max(1);
        let hi = config.max_colours.max(lo);
        let count = lo + draw.below(hi - lo + 1);
        let mut steps: Vec<(FlashColour, Duration)> = Vec::with_capacity(count);
        for _ in 0..count {
            // Each colour once while some are unused (so a sequence shows several), then never
            // the same twice in a row.
            let unused: Vec<FlashColour> =
                config.colours.iter().copied().filter(|c| steps.iter().all(|s| s.0 != *c)).collect();
            let choices: Vec<FlashColour> = if unused.is_empty() {
                config.colours.iter().copied().filter(|c| steps.last().is_none_or(|l| l.0 != *c)).collect()
            } else {
                unused
            };
            let Some(&colour) = choices.get(draw.below(choices.len().max(1))) else { break };
            steps.push((colour, draw.between(config.min_colour, config.max_colour)));
        }
        FlashPlan { lead_in, steps }
    }

    /// The plan with each colour lasting at least `frames_per_colour` of the device's frame
    /// intervals (at most `max_paced_colour`): a slow phone, or a loaded server, still sees each
    /// colour in a few frames. Then it is fitted into `max_step` with `settle`: the lead-in
    /// shortened down to `min_lead_in`, then colours dropped from the end down to `min_colours`
    /// (the colours are what a recording cannot know, and more of them seen in more frames keep
    /// another session's recording further from the pass bar; the lead-in only hides when they
    /// start); except on a device too slow for `frames_per_colour` even at `max_paced_colour`,
    /// whose few frames need every colour (its flash takes longer).
    pub fn paced(&self, frame_interval: Option<Duration>, config: &FlashConfig) -> FlashPlan {
        let mut plan = self.clone();
        if let Some(interval) = frame_interval {
            let wanted = interval.mul_f32(config.frames_per_colour.max(0.0));
            if wanted > config.max_paced_colour {
                let least = config.max_paced_colour;
                plan.steps.iter_mut().for_each(|s| s.1 = s.1.max(least));
                return plan;
            }
            plan.steps.iter_mut().for_each(|s| s.1 = s.1.max(wanted));
        }
        let over = (plan.length() + config.settle).saturating_sub(config.max_step);
        plan.lead_in = plan.lead_in.saturating_sub(over).max(config.min_lead_in.min(plan.lead_in));
        while plan.length() + config.settle > config.max_step && plan.steps.len() > config.min_colours.max(1) {
            plan.steps.pop();
        }
        plan
    }

    /// The whole flash from its start: lead-in and every colour.
    pub fn length(&self) -> Duration {
        self.lead_in + self.steps.iter().map(|s| s.1).sum::<Duration>()
    }
}

/// One analysed frame's skin colour, for the check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkinSample {
    /// When the frame arrived.
    pub at: Instant,
    /// Mean R, G, B (0-255) of the face's skin.
    pub rgb: [f32; 3],
}

/// What the page was told to show from each instant on (`None`: nothing, the page's own
/// background).
pub type Shown = [(Instant, Option<FlashColour>)];

/// The check's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlashScore {
    /// The best correlation over lags (-1 to 1), or `None` with too few frames to judge.
    pub correlation: Option<f32>,
    /// The lag that gave it.
    pub lag: Duration,
    /// Frames inside the colours at that lag.
    pub frames: usize,
    /// Distinct colours those frames saw.
    pub distinct: usize,
    /// The fitted gain at that lag (see [`FlashConfig::min_gain`]).
    pub gain: f32,
}

/// The verdict on a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashVerdict {
    /// The face reflected the sequence.
    Reflected,
    /// Not clear either way: a reviewer looks.
    Uncertain,
    /// The frames did not reflect this session's sequence: a replay or an injection.
    NotReflected,
}

impl FlashScore {
    /// The verdict under `config`.
    pub fn verdict(&self, config: &FlashConfig) -> FlashVerdict {
        match self.correlation {
            None => FlashVerdict::Uncertain,
            Some(_) if self.gain < config.min_gain / 2.0 => FlashVerdict::NotReflected,
            Some(c) if c < config.review_correlation => FlashVerdict::NotReflected,
            Some(c) if c >= config.pass_correlation && self.gain >= config.min_gain => FlashVerdict::Reflected,
            Some(_) => FlashVerdict::Uncertain,
        }
    }
}

/// The colour shown at `t` (the last change at or before it).
fn shown_at(shown: &Shown, t: Instant) -> Option<FlashColour> {
    shown.iter().take_while(|(at, _)| *at <= t).last().and_then(|(_, c)| *c)
}

fn chroma(rgb: [f32; 3]) -> Option<[f32; 3]> {
    let sum = rgb[0] + rgb[1] + rgb[2];
    (sum > 1.0).then(|| rgb.map(|v| v / sum))
}

/// Scores `samples` against what was `shown` (ordered by instant).
pub fn score(shown: &Shown, samples: &[SkinSample], config: &FlashConfig) -> FlashScore {
    let step = Duration::from_millis(25);
    let mut best = FlashScore { correlation: None, lag: Duration::ZERO, frames: 0, distinct: 0, gain: 0.0 };
    let mut lag = Duration::ZERO;
    while lag <= config.max_lag {
        let labelled: Vec<(Option<FlashColour>, [f32; 3])> = samples
            .iter()
            .filter_map(|s| {
                let t = s.at.checked_sub(lag)?;
                // A frame exposed across a change of colour shows a mix: left out.
                if shown.iter().any(|(at, _)| at.max(&t).duration_since(*at.min(&t)) < config.transition_guard) {
                    return None;
                }
                Some((shown_at(shown, t), chroma(s.rgb)?))
            })
            .collect();
        // The face's own colour: the median of the frames under no colour at this lag.
        let plain: Vec<[f32; 3]> = labelled.iter().filter(|(c, _)| c.is_none()).map(|(_, x)| *x).collect();
        let coloured: Vec<&(Option<FlashColour>, [f32; 3])> = labelled.iter().filter(|(c, _)| c.is_some()).collect();
        let mut seen: Vec<FlashColour> = coloured.iter().filter_map(|(c, _)| *c).collect();
        seen.sort_by_key(|c| c.as_str());
        seen.dedup();
        if plain.len() >= 2 && coloured.len() >= config.min_frames.max(2) && seen.len() >= config.min_distinct {
            let base: [f32; 3] = std::array::from_fn(|k| median(plain.iter().map(|x| x[k]).collect()));
            let mut measured = Vec::new();
            let mut expected = Vec::new();
            for (c, x) in &labelled {
                let e = c.map_or([0.0; 3], FlashColour::direction);
                for k in 0..3 {
                    measured.push(x[k] - base[k]);
                    expected.push(e[k]);
                }
            }
            if let Some(r) = pearson(&measured, &expected)
                && best.correlation.is_none_or(|b| r > b)
            {
                let gain = fit_gain(&measured, &expected);
                best = FlashScore { correlation: Some(r), lag, frames: coloured.len(), distinct: seen.len(), gain };
            }
        }
        lag += step;
    }
    best
}

/// The least-squares slope of `measured` on `expected` through the origin.
fn fit_gain(measured: &[f32], expected: &[f32]) -> f32 {
    let sxy: f32 = measured.iter().zip(expected).map(|(a, b)| a * b).sum();
    let syy: f32 = expected.iter().map(|b| b * b).sum();
    if syy <= f32::EPSILON { 0.0 } else { sxy / syy }
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn pearson(x: &[f32], y: &[f32]) -> Option<f32> {
    let n = x.len().min(y.len()) as f32;
    if n < 3.0 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f32>() / n, y.iter().sum::<f32>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    // A flat measurement (no change at all, a frozen or injected picture) correlates with
    // nothing.
    if sxx <= f32::EPSILON || syy <= f32::EPSILON {
        return Some(0.0);
    }
    Some(sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionConfig;

    fn config() -> FlashConfig {
        SessionConfig::example().flash
    }

    /// What the page was told, for `plan` started at `t0`: nothing, each colour, nothing.
    pub(super) fn shown(plan: &FlashPlan, t0: Instant) -> Vec<(Instant, Option<FlashColour>)> {
        let mut out = vec![(t0, None)];
        let mut t = t0 + plan.lead_in;
        for (c, d) in &plan.steps {
            out.push((t, Some(*c)));
            t += *d;
        }
        out.push((t, None));
        out
    }

    /// A face of `skin` colour lit by `light` (what it shows `lag` before each frame) at
    /// `strength`, one frame every `every`, from `t0` to `until`.
    pub(super) fn frames(
        t0: Instant,
        until: Instant,
        every: Duration,
        lag: Duration,
        strength: f32,
        light: impl Fn(Instant) -> Option<FlashColour>,
    ) -> Vec<SkinSample> {
        let skin = [180.0, 130.0, 110.0];
        let mut out = Vec::new();
        let mut t = t0 + every;
        let mut i = 0u32;
        while t < until {
            let tint = t.checked_sub(lag).and_then(&light).map_or([0.0; 3], |c| c.rgb().map(f32::from));
            // A little sensor noise, deterministic.
            let noise = ((i * 7919) % 13) as f32 - 6.0;
            let rgb = std::array::from_fn(|k| skin[k] * (1.0 - strength) + tint[k] * strength + noise * 0.3);
            out.push(SkinSample { at: t, rgb });
            t += every;
            i += 1;
        }
        out
    }

    #[test]
    fn a_slow_device_gets_longer_colours() {
        let c = FlashConfig { max_step: Duration::from_secs(60), ..config() };
        let plan = FlashPlan::draw(&c, 8);
        assert_eq!(plan.paced(Some(Duration::from_millis(50)), &c), plan, "a fast device: as drawn");
        let slow = plan.paced(Some(Duration::from_millis(400)), &c);
        assert!(slow.steps.iter().all(|s| s.1 >= Duration::from_millis(1000)), "{slow:?}");
        let stalled = plan.paced(Some(Duration::from_secs(5)), &c);
        assert!(stalled.steps.iter().all(|s| s.1 == c.max_paced_colour), "{stalled:?}");
        assert_eq!(
            slow.steps.iter().map(|s| s.0).collect::<Vec<_>>(),
            plan.steps.iter().map(|s| s.0).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_flash_step_keeps_to_its_budget_unless_the_device_is_too_slow_for_it() {
        let c = config();
        let budget = c.max_step;
        for seed in 0..200 {
            let plan = FlashPlan::draw(&c, seed);
            for ms in [None, Some(33), Some(100), Some(160)] {
                let paced = plan.paced(ms.map(Duration::from_millis), &c);
                assert!(paced.length() + c.settle <= budget, "{ms:?}: {paced:?}");
                // Colours are dropped from the end only, never below the least, and each still
                // lasts its frames.
                assert!(paced.steps.len() >= c.min_colours, "{paced:?}");
                assert!(paced.steps.iter().zip(&plan.steps).all(|(p, d)| p.0 == d.0 && p.1 >= d.1), "{paced:?}");
                assert!(paced.lead_in >= c.min_lead_in && paced.lead_in <= plan.lead_in, "{paced:?}");
            }
        }
        // The lead-in goes first: 6 colours of 300 ms fit with a short lead-in.
        let long =
            FlashPlan { lead_in: c.max_lead_in, steps: FlashColour::ALL.iter().map(|&k| (k, c.max_colour)).collect() };
        let fitted = long.paced(Some(Duration::from_millis(33)), &c);
        assert_eq!(fitted.steps, long.steps, "{fitted:?}");
        assert_eq!(fitted.lead_in + c.settle + c.max_colour * 6, budget, "{fitted:?}");
        // A plan that fits is left as drawn on a fast device.
        let short = FlashPlan { lead_in: c.min_lead_in, steps: FlashPlan::draw(&c, 1).steps[..4].to_vec() };
        assert_eq!(short.paced(Some(Duration::from_millis(33)), &c), short);
        // 400 ms frames: four colours of 1 s cannot fit 3 s; they are kept (the check needs their
        // frames) and the lead-in is as short as allowed.
        let slow = FlashPlan::draw(&c, 8).paced(Some(Duration::from_millis(400)), &c);
        assert_eq!(slow.steps.len(), c.min_colours, "{slow:?}");
        assert_eq!(slow.lead_in, c.min_lead_in, "{slow:?}");
        // One frame a second (a loaded machine): every colour, at its longest.
        let plan = FlashPlan::draw(&c, 8);
        let stalled = plan.paced(Some(Duration::from_secs(1)), &c);
        assert_eq!(stalled.steps.len(), plan.steps.len(), "{stalled:?}");
    }

    #[test]
    fn plans_vary_never_repeat_a_colour_in_a_row_and_stay_in_bounds() {
        let c = config();
        let plans: Vec<FlashPlan> = (0..50).map(|s| FlashPlan::draw(&c, s)).collect();
        for p in &plans {
            assert!((c.min_colours..=c.max_colours).contains(&p.steps.len()), "{p:?}");
            assert!(p.steps.windows(2).all(|w| w[0].0 != w[1].0), "{p:?}");
            assert!(p.steps.iter().all(|s| s.1 >= c.min_colour && s.1 <= c.max_colour));
            assert!(p.lead_in >= c.min_lead_in && p.lead_in <= c.max_lead_in);
        }
        let distinct: std::collections::HashSet<Vec<FlashColour>> =
            plans.iter().map(|p| p.steps.iter().map(|s| s.0).collect()).collect();
        assert!(distinct.len() >= 45, "{} distinct sequences of 50", distinct.len());
        assert_eq!(FlashPlan::draw(&c, 4), FlashPlan::draw(&c, 4));
    }

    #[test]
    fn a_face_that_reflects_the_sequence_passes_at_its_lag() {
        let c = config();
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        for seed in 0..20 {
            let plan = FlashPlan::draw(&c, seed);
            let shown = shown(&plan, t0);
            let end = t0 + plan.length() + c.settle;
            let lag = Duration::from_millis(180);
            let s = score(&shown, &frames(t0, end, Duration::from_millis(100), lag, 0.08, |t| shown_at(&shown, t)), &c);
            assert_eq!(s.verdict(&c), FlashVerdict::Reflected, "seed {seed}: {s:?}");
            assert!(s.lag.abs_diff(lag) <= Duration::from_millis(100), "{s:?}");
        }
    }

    #[test]
    fn no_reflection_or_another_sessions_colours_fail() {
        let c = config();
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        for seed in 0..20 {
            let plan = FlashPlan::draw(&c, seed);
            let shown = shown(&plan, t0);
            let end = t0 + plan.length() + c.settle;
            let every = Duration::from_millis(100);
            let lag = Duration::from_millis(180);
            // A photo or an injected stream: nothing changes but noise.
            let flat = score(&shown, &frames(t0, end, every, lag, 0.0, |_| None), &c);
            assert_eq!(flat.verdict(&c), FlashVerdict::NotReflected, "seed {seed}: {flat:?}");
            // A recording of another session: its own colours, at its own times.
            let other = shown_of_other(seed, t0, &c);
            let replay = score(&shown, &frames(t0, end, every, lag, 0.12, |t| shown_at(&other, t)), &c);
            assert_ne!(replay.verdict(&c), FlashVerdict::Reflected, "seed {seed}: {replay:?}");
        }
    }

    pub(super) fn shown_of_other(seed: u64, t0: Instant, c: &FlashConfig) -> Vec<(Instant, Option<FlashColour>)> {
        shown(&FlashPlan::draw(c, seed + 1000), t0 + Duration::from_millis(137))
    }

    #[test]
    fn too_few_frames_is_uncertain_not_an_attack() {
        let c = config();
        #[allow(clippy::disallowed_methods)] // the test's epoch
        let t0 = Instant::now();
        let plan = FlashPlan::draw(&c, 3);
        let shown = shown(&plan, t0);
        let end = t0 + plan.length() + c.settle;
        // One frame a second: a slow phone under load.
        let s =
            score(&shown, &frames(t0, end, Duration::from_secs(1), Duration::ZERO, 0.12, |t| shown_at(&shown, t)), &c);
        assert_eq!(s.verdict(&c), FlashVerdict::Uncertain, "{s:?}");
    }
}
