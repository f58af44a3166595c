//! Median and spread over runs.

/// A figure over the runs: the median, the smallest and the largest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// How many runs gave a value.
    pub runs: usize,
}

/// The summary of @values; `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: v[0],
        max: v[n - 1],
        runs: n,
    })
}

/// A number in a width that suits its size: 12345, 123, 12.3, 1.23, 0.012.
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 || a == 0.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// "median (min-max)", or just the median when every run agrees or there is one run.
pub fn cell(s: &Summary) -> String {
    let (m, lo, hi) = (num(s.median), num(s.min), num(s.max));
    if lo == hi {
        m
    } else {
        format!("{m} ({lo}-{hi})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (2.0, 1.0, 3.0, 3));
        assert_eq!(summarize(&[1.0, 4.0]).unwrap().median, 2.5);
        assert!(summarize(&[]).is_none());
        assert_eq!(
            cell(&summarize(&[10.0, 12.0, 11.0]).unwrap()),
            "11.0 (10.0-12.0)"
        );
        assert_eq!(cell(&summarize(&[5.0]).unwrap()), "5.00");
    }
}
