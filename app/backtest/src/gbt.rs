//! A small gradient-boosted regression-tree model (squared loss, histogram splits): the
//! nonlinear candidate of the volatility forecasting study. Deterministic, no dependency.

/// Settings.
#[derive(Clone, Copy, Debug)]
pub struct GbtParams {
    /// Boosting rounds.
    pub trees: usize,
    /// Depth of each tree.
    pub depth: usize,
    /// Learning rate (shrinkage).
    pub learning_rate: f64,
    /// Fewest samples in a leaf.
    pub min_leaf: usize,
    /// Histogram bins per feature.
    pub bins: usize,
}

impl Default for GbtParams {
    fn default() -> Self {
        GbtParams {
            trees: 100,
            depth: 3,
            learning_rate: 0.08,
            min_leaf: 30,
            bins: 32,
        }
    }
}

#[derive(Clone, Debug)]
enum Node {
    Leaf(f64),
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
}

/// A fitted ensemble.
#[derive(Clone, Debug)]
pub struct Gbt {
    base: f64,
    lr: f64,
    trees: Vec<Vec<Node>>,
}

impl Gbt {
    /// Fits on rows `x` (all the same length) and targets `y`.
    pub fn fit(x: &[Vec<f64>], y: &[f64], p: &GbtParams) -> Gbt {
        let n = y.len();
        let base = if n == 0 {
            0.0
        } else {
            y.iter().sum::<f64>() / n as f64
        };
        let mut model = Gbt {
            base,
            lr: p.learning_rate,
            trees: Vec::with_capacity(p.trees),
        };
        if n == 0 {
            return model;
        }
        let k = x[0].len();
        // Quantile bin edges per feature, and each sample's bin.
        let edges: Vec<Vec<f64>> = (0..k)
            .map(|f| {
                let mut v: Vec<f64> = x.iter().map(|r| r[f]).collect();
                v.sort_by(f64::total_cmp);
                let mut e: Vec<f64> = (1..p.bins).map(|b| v[(b * (n - 1)) / p.bins]).collect();
                e.dedup();
                e
            })
            .collect();
        // Feature-major bins: binned[f * n + i] (sequential access in the split search).
        let mut binned = vec![0u8; k * n];
        for f in 0..k {
            for (i, r) in x.iter().enumerate() {
                binned[f * n + i] = edges[f].partition_point(|&e| e < r[f]) as u8;
            }
        }
        let mut pred = vec![base; n];
        let mut resid = vec![0.0; n];
        for _ in 0..p.trees {
            for i in 0..n {
                resid[i] = y[i] - pred[i];
            }
            let mut nodes = Vec::new();
            let idx: Vec<usize> = (0..n).collect();
            build(&mut nodes, &binned, n, &edges, &resid, idx, p.depth, p);
            for i in 0..n {
                pred[i] += p.learning_rate * eval(&nodes, &x[i]);
            }
            model.trees.push(nodes);
        }
        model
    }

    /// Prediction for one row.
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.base + self.lr * self.trees.iter().map(|t| eval(t, row)).sum::<f64>()
    }
}

fn eval(nodes: &[Node], row: &[f64]) -> f64 {
    let mut i = 0;
    loop {
        match &nodes[i] {
            Node::Leaf(v) => return *v,
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                i = if row[*feature] <= *threshold {
                    *left
                } else {
                    *right
                }
            }
        }
    }
}

/// Grows a node over samples `idx`; returns its index.
#[allow(clippy::too_many_arguments)]
fn build(
    nodes: &mut Vec<Node>,
    binned: &[u8],
    stride: usize,
    edges: &[Vec<f64>],
    r: &[f64],
    idx: Vec<usize>,
    depth: usize,
    p: &GbtParams,
) -> usize {
    let n = idx.len();
    let sum: f64 = idx.iter().map(|&i| r[i]).sum();
    let me = nodes.len();
    nodes.push(Node::Leaf(if n > 0 { sum / n as f64 } else { 0.0 }));
    if depth == 0 || n < 2 * p.min_leaf {
        return me;
    }
    // Best split by variance reduction: maximise sL²/nL + sR²/nR.
    let mut best: Option<(f64, usize, usize)> = None;
    for (f, fedges) in edges.iter().enumerate() {
        let nb = fedges.len() + 1;
        let mut cnt = [0usize; 256];
        let mut s = [0.0f64; 256];
        let col = &binned[f * stride..(f + 1) * stride];
        for &i in &idx {
            let b = col[i] as usize;
            cnt[b] += 1;
            s[b] += r[i];
        }
        let (mut nl, mut sl) = (0usize, 0.0f64);
        for b in 0..nb - 1 {
            nl += cnt[b];
            sl += s[b];
            let nr = n - nl;
            if nl < p.min_leaf || nr < p.min_leaf {
                continue;
            }
            let sr = sum - sl;
            let gain = sl * sl / nl as f64 + sr * sr / nr as f64 - sum * sum / n as f64;
            if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, f, b));
            }
        }
    }
    let Some((_, f, b)) = best else { return me };
    let col = &binned[f * stride..(f + 1) * stride];
    let (li, ri): (Vec<usize>, Vec<usize>) = idx.into_iter().partition(|&i| (col[i] as usize) <= b);
    let left = build(nodes, binned, stride, edges, r, li, depth - 1, p);
    let right = build(nodes, binned, stride, edges, r, ri, depth - 1, p);
    nodes[me] = Node::Split {
        feature: f,
        threshold: edges[f][b],
        left,
        right,
    };
    me
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_step_and_an_interaction_that_a_line_cannot() {
        // y = 1 if x0 > 0.5 and x1 > 0.5, else 0: no linear model fits it.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..40 {
            for j in 0..40 {
                let (a, b) = (i as f64 / 39.0, j as f64 / 39.0);
                x.push(vec![a, b]);
                y.push(if a > 0.5 && b > 0.5 { 1.0 } else { 0.0 });
            }
        }
        let m = Gbt::fit(
            &x,
            &y,
            &GbtParams {
                trees: 200,
                learning_rate: 0.1,
                min_leaf: 5,
                ..Default::default()
            },
        );
        let mse: f64 = x
            .iter()
            .zip(&y)
            .map(|(r, t)| (m.predict(r) - t).powi(2))
            .sum::<f64>()
            / y.len() as f64;
        assert!(mse < 0.01, "mse {mse}");
        assert!(m.predict(&[0.9, 0.9]) > 0.9);
        assert!(m.predict(&[0.9, 0.1]) < 0.1);
        // Least squares on [1, x0, x1] leaves most of the variance.
        let design: Vec<Vec<f64>> = x.iter().map(|r| vec![1.0, r[0], r[1]]).collect();
        let b = crate::stats::least_squares(&design, &y, 0.0).unwrap();
        let lin: f64 = design
            .iter()
            .zip(&y)
            .map(|(r, t)| (b[0] + b[1] * r[1] + b[2] * r[2] - t).powi(2))
            .sum::<f64>()
            / y.len() as f64;
        assert!(lin > 5.0 * mse);
    }

    #[test]
    fn constant_target_gives_the_constant() {
        let x: Vec<Vec<f64>> = (0..100).map(|i| vec![i as f64]).collect();
        let y = vec![2.5; 100];
        let m = Gbt::fit(&x, &y, &GbtParams::default());
        assert!((m.predict(&[17.0]) - 2.5).abs() < 1e-12);
    }
}
