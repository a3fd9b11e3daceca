//! Scales from simulated time and offsets to pixels: a linear time axis for the whole run, and a broken one for a
//! violation's story, whose moments (an acknowledgement, a crash, a truncation) sit milliseconds apart but seconds
//! from one another.

/// One stretch of the time axis: `[t0, t1]` ms drawn over `[x0, x1]` px.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    t0: u64,
    t1: u64,
    x0: f64,
    x1: f64,
}

/// A monotone map from ms to px, linear within each piece; the breaks between pieces are drawn narrow.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeAxis {
    pieces: Vec<Piece>,
}

/// Width of a break in a broken axis.
pub const BREAK_PX: f64 = 44.0;
/// A broken axis shows at most this many stretches.
const MAX_STRETCHES: usize = 4;

impl TimeAxis {
    pub fn linear(t0: u64, t1: u64, x0: f64, x1: f64) -> Self {
        TimeAxis {
            pieces: vec![Piece {
                t0,
                t1: t1.max(t0 + 1),
                x0,
                x1,
            }],
        }
    }

    /// An axis showing `pad_ms` around each of `moments` at one common scale, with the empty time between the
    /// stretches cut to `BREAK_PX`.
    pub fn broken(moments: &[u64], pad_ms: u64, x0: f64, x1: f64) -> Self {
        let mut moments = moments.to_vec();
        moments.sort_unstable();
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for m in moments {
            let (a, b) = (m.saturating_sub(pad_ms), m + pad_ms);
            match spans.last_mut() {
                // Close moments share a stretch; a gap shorter than a break is not worth cutting either.
                Some(last) if a <= last.1 + pad_ms => last.1 = last.1.max(b),
                _ => spans.push((a, b)),
            }
        }
        if spans.is_empty() {
            return Self::linear(0, 1, x0, x1);
        }
        // Many scattered moments (a story of dozens of records) would make slivers: close the smallest gaps
        // until a few stretches remain (the first of equal gaps first, so the axis is a function of the moments).
        while spans.len() > MAX_STRETCHES {
            let i = (1..spans.len())
                .min_by_key(|&i| spans[i].0 - spans[i - 1].1)
                .expect("two spans at least");
            spans[i - 1].1 = spans[i].1;
            spans.remove(i);
        }
        let shown_ms: u64 = spans.iter().map(|(a, b)| b - a).sum();
        let breaks = (spans.len() - 1) as f64 * BREAK_PX;
        let scale = ((x1 - x0 - breaks) / shown_ms as f64).max(0.01);
        let mut x = x0;
        let mut pieces = Vec::new();
        for (i, (a, b)) in spans.iter().enumerate() {
            if i > 0 {
                let prev: &Piece = pieces.last().expect("a piece before a break");
                // The break is a piece too, squeezed, so a window spanning it still maps monotonically.
                let gap = Piece {
                    t0: prev.t1,
                    t1: *a,
                    x0: x,
                    x1: x + BREAK_PX,
                };
                x += BREAK_PX;
                pieces.push(gap);
            }
            let w = (b - a) as f64 * scale;
            pieces.push(Piece {
                t0: *a,
                t1: *b,
                x0: x,
                x1: x + w,
            });
            x += w;
        }
        TimeAxis { pieces }
    }

    pub fn start_ms(&self) -> u64 {
        self.pieces[0].t0
    }

    pub fn end_ms(&self) -> u64 {
        self.pieces[self.pieces.len() - 1].t1
    }

    pub fn x(&self, t_ms: u64) -> f64 {
        let first = self.pieces[0];
        if t_ms <= first.t0 {
            return first.x0;
        }
        for p in &self.pieces {
            if t_ms <= p.t1 {
                let f = (t_ms - p.t0) as f64 / (p.t1 - p.t0).max(1) as f64;
                return p.x0 + f * (p.x1 - p.x0);
            }
        }
        self.pieces[self.pieces.len() - 1].x1
    }

    /// The breaks: (x where it starts, ms it hides).
    pub fn breaks(&self) -> Vec<(f64, u64)> {
        self.pieces
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1 && self.pieces.len() > 1)
            .map(|(_, p)| (p.x0, p.t1 - p.t0))
            .collect()
    }

    /// The shown stretches as (t0, t1), for ticks.
    pub fn stretches(&self) -> Vec<(u64, u64)> {
        self.pieces
            .iter()
            .step_by(2)
            .map(|p| (p.t0, p.t1))
            .collect()
    }

    /// Whether `t_ms` is in a shown stretch (not hidden in a break).
    pub fn shows(&self, t_ms: u64) -> bool {
        self.stretches()
            .iter()
            .any(|(a, b)| *a <= t_ms && t_ms <= *b)
    }
}

/// Offsets `lo..hi` (hi excluded) drawn from `y_bottom` up to `y_top`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OffsetAxis {
    pub lo: i64,
    pub hi: i64,
    pub y_top: f64,
    pub y_bottom: f64,
}

impl OffsetAxis {
    /// The y of an offset mark (a LEO or HW), clamped into the lane.
    pub fn y(&self, offset: i64) -> f64 {
        let o = offset.clamp(self.lo, self.hi);
        let f = (o - self.lo) as f64 / (self.hi - self.lo).max(1) as f64;
        self.y_bottom - f * (self.y_bottom - self.y_top)
    }

    /// The height of one offset's row.
    pub fn row(&self) -> f64 {
        (self.y_bottom - self.y_top) / (self.hi - self.lo).max(1) as f64
    }
}

/// Round tick steps in ms for about `count` ticks over `span_ms`.
pub fn tick_step_ms(span_ms: u64, count: u64) -> u64 {
    let raw = (span_ms / count.max(1)).max(1);
    let mut step = 1;
    while step < raw {
        for m in [2, 5, 10] {
            if step * m >= raw {
                return step * m;
            }
        }
        step *= 10;
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_axis_keeps_distant_moments_apart_and_is_monotone() {
        let axis = TimeAxis::broken(&[29_990, 30_000, 35_010, 35_020], 50, 0.0, 1000.0);
        assert_eq!(axis.stretches(), vec![(29_940, 30_050), (34_960, 35_070)]);
        assert_eq!(axis.breaks().len(), 1);
        let xs: Vec<f64> = [29_940, 30_000, 30_050, 32_000, 34_960, 35_070]
            .iter()
            .map(|t| axis.x(*t))
            .collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
        assert!((axis.x(35_070) - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn scattered_moments_make_a_few_stretches() {
        let moments: Vec<u64> = (0..40).map(|i| i * 1_000).collect();
        let axis = TimeAxis::broken(&moments, 20, 0.0, 1000.0);
        assert_eq!(axis.stretches().len(), MAX_STRETCHES);
        assert_eq!(axis.start_ms(), 0);
        assert_eq!(axis.end_ms(), 39_020);
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step_ms(90_000, 10), 10_000);
        assert_eq!(tick_step_ms(110, 5), 50);
    }
}
