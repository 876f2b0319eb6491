//! Thinning long series before they cross to the page, so that receiving and drawing stay cheap
//! whatever the size of the data (a 10⁶-step loss curve is drawn from at most a few thousand
//! points; exports still carry every point).

/// The indices of a series of `n` points that are kept: every `⌈n / max⌉`-th, the last always.
pub fn strided_indices(n: usize, max: usize) -> Vec<usize> {
    let stride = n.div_ceil(max.max(1)).max(1);
    let mut idx: Vec<usize> = (0..n).step_by(stride).collect();
    if n > 0 && idx.last() != Some(&(n - 1)) {
        idx.push(n - 1);
    }
    idx
}

/// `values` at `idx`.
pub fn pick(values: &[f64], idx: &[usize]) -> Vec<f64> {
    idx.iter()
        .map(|&i| values.get(i).copied().unwrap_or(f64::NAN))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_both_ends_and_at_most_max_plus_one() {
        assert_eq!(strided_indices(5, 600), vec![0, 1, 2, 3, 4]);
        let big = strided_indices(200_000, 600);
        assert!(big.len() <= 601);
        assert_eq!((big[0], *big.last().unwrap()), (0, 199_999));
        assert!(strided_indices(0, 600).is_empty());
        assert_eq!(pick(&[1.0, 2.0, 3.0], &[0, 2]), vec![1.0, 3.0]);
    }
}
