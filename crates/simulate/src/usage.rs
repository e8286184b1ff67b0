//! Daily usage of one account: an expected level per signal, times noise drawn for that (account, day).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::meters::Signal;

/// Usage per signal, in the signal's SI unit (a daily average for storage).
pub type Amounts = [f64; 11];

/// Decimal terabyte: the public record's unit.
pub const TB: f64 = 1e12;

/// How an account's expected usage evolves.
#[derive(Debug, Clone)]
pub enum Levels {
    /// Exponential trend from a base, with a weekend dip and, for batch work, on/off duty cycles.
    Trend {
        /// Level on day 0.
        base: Amounts,
        /// Log growth per day.
        growth: Amounts,
        /// Weekend factor for interactive signals (1.0: no weekly cycle).
        weekend: f64,
        /// GPU work runs `on` days out of every `period` (None: always).
        duty: Option<(u32, u32, u32)>,
    },
    /// A precomputed expected level per day (scenarios and shaped hard negatives).
    Curve(Vec<Amounts>),
}

impl Levels {
    /// The expected level on `day` (0-based), which falls on weekday `weekday` (0 = Monday).
    pub fn level(&self, day: u32, weekday: u32) -> Amounts {
        match self {
            Levels::Curve(c) => c.get(day as usize).copied().unwrap_or([0.0; 11]),
            Levels::Trend { base, growth, weekend, duty } => {
                let mut out = [0.0; 11];
                let d = f64::from(day);
                for s in Signal::ALL {
                    let i = s.index();
                    if base[i] <= 0.0 {
                        continue;
                    }
                    let mut v = base[i] * (growth[i] * d).exp();
                    // Storage is held over the weekend; people-driven usage is not.
                    if weekday >= 5 && s != Signal::Storage {
                        v *= weekend;
                    }
                    if s == Signal::GpuHours
                        && let Some((on, period, phase)) = duty
                        && (day + phase) % period >= *on
                    {
                        v = 0.0;
                    }
                    out[i] = v;
                }
                out
            }
        }
    }
}

/// Mix the seed with the draw's place into a generator seed (SplitMix64 finaliser: neighbouring inputs give
/// unrelated outputs).
pub fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for one place.
pub fn rng(seed: u64, a: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed, a, b))
}

/// The day's usage: the level times mean-one log-normal noise (`sigma` for flows, a fifth of it for storage, which
/// changes slowly).
pub fn daily(levels: &Levels, sigma: f64, seed: u64, account: u64, day: u32, weekday: u32) -> Amounts {
    let mut out = levels.level(day, weekday);
    let mut r = rng(seed, account, u64::from(day) + 1);
    for s in Signal::ALL {
        let i = s.index();
        let z: f64 = StandardNormal.sample(&mut r);
        if out[i] <= 0.0 {
            continue;
        }
        let sd = if s == Signal::Storage { sigma / 5.0 } else { sigma };
        out[i] *= (sd * z - sd * sd / 2.0).exp();
    }
    // A draw kept for each day whatever the levels, so one signal's presence does not shift another's noise.
    let _: f64 = r.random();
    out
}

/// A random version-4-shaped GUID (Azure subscription and run ids).
pub fn guid(r: &mut ChaCha8Rng) -> String {
    let h = format!("{:032x}", r.random::<u128>());
    format!("{}-{}-4{}-{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[16..20], &h[20..32])
}

/// Smooth 0 → 1 ramp over `len` days from `onset` (smoothstep), 0 before.
pub fn ramp(day: u32, onset: u32, len: u32) -> f64 {
    if day < onset {
        return 0.0;
    }
    let x = (f64::from(day - onset) / f64::from(len.max(1))).min(1.0);
    x * x * (3.0 - 2.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_and_mean_one() {
        let levels = Levels::Trend { base: [1.0; 11], growth: [0.0; 11], weekend: 1.0, duty: None };
        let a = daily(&levels, 0.2, 7, 3, 10, 2);
        assert_eq!(a, daily(&levels, 0.2, 7, 3, 10, 2));
        assert_ne!(a, daily(&levels, 0.2, 8, 3, 10, 2));
        let n = 20_000;
        let mean: f64 = (0..n).map(|d| daily(&levels, 0.2, 1, 1, d, 2)[Signal::Egress.index()]).sum::<f64>() / f64::from(n);
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn ramps_and_duty_cycles() {
        assert_eq!(ramp(5, 10, 20), 0.0);
        assert_eq!(ramp(30, 10, 20), 1.0);
        assert!((ramp(20, 10, 20) - 0.5).abs() < 1e-12);
        let mut base = [0.0; 11];
        base[Signal::GpuHours.index()] = 10.0;
        let l = Levels::Trend { base, growth: [0.0; 11], weekend: 1.0, duty: Some((2, 5, 0)) };
        let on: Vec<bool> = (0..10).map(|d| l.level(d, 0)[Signal::GpuHours.index()] > 0.0).collect();
        assert_eq!(on, [true, true, false, false, false, true, true, false, false, false]);
    }
}
