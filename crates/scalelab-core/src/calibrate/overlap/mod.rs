//! The class-overlap experiment of Chidambaram & Ge (ICLR 2024, "On the Limitations of
//! Temperature Scaling for Distributions with Overlaps"): when classes overlap, a model trained
//! by ERM to interpolate its training data stays badly calibrated after temperature scaling,
//! while d-Mixup training (convex combinations of `d` points with Dirichlet weights) stays close
//! to calibrated.
//!
//! [`OverlapRun`] draws the data ([`data`]), trains a softmax regression or a small MLP
//! ([`mlp`]) with Adam in minibatches, one [`OverlapRun::epoch`] at a time (a worker streams
//! them), and [`OverlapRun::finish`] fits the temperature on the calibration split and scores the
//! test split before and after it: mean NLL, accuracy and netcal's 15-bin ECE (the paper's
//! metrics). d-Mixup follows the reference's `GeneralMixupLoss`: one weight vector
//! `w ~ Dirichlet(α·1_d)` per batch, inputs `Σ_i w_i x[π_i]` and loss `Σ_i w_i CE(f(mix), y[π_i])`
//! with `π_1` the identity and `π_2 … π_d` independent random permutations of the batch.

pub mod data;
pub mod mlp;

use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;

use super::binning::{Binning, EdgeConvention};
use super::metrics::{accuracy, calibration_error, netcal_clip, nll, reliability, top_label, Norm};
use super::temperature::{fit_temperature, TemperatureFit};
use super::Scores;
use crate::CoreError;
use data::{OverlapData, Split};
use mlp::{Adam, Mlp};

/// How the network is trained.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Training {
    /// Empirical risk minimisation (plain cross-entropy).
    Erm,
    /// d-Mixup.
    Mixup {
        /// Points per mixture `d` (2 is classic Mixup).
        points: usize,
        /// Dirichlet concentration `α` (the reference's `mixup_alpha = 1`).
        alpha: f64,
    },
}

/// One run of the experiment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OverlapConfig {
    /// Number of classes `k` (2 ..= 10).
    pub classes: usize,
    /// Input dimension `d` (1 ..= 1024; the reference: 300).
    pub dim: usize,
    /// Rows drawn in all (100 ..= 100 000; the reference: 5000).
    pub samples: usize,
    /// Mean spacing `μ` (0 ..= 100): smaller overlaps more.
    pub separation: f64,
    /// Label-noise probability of training and calibration labels (0 ..= 0.9).
    pub label_noise: f64,
    /// Hidden-layer widths (at most 4, each 1 ..= 2048); none is softmax regression.
    pub hidden: Vec<usize>,
    /// ERM or d-Mixup.
    pub training: Training,
    /// Epochs (1 ..= 5000; the reference: 200).
    pub epochs: usize,
    /// Minibatch size (1 ..= 100 000; the reference: 500).
    pub batch: usize,
    /// Adam's learning rate (0 < lr ≤ 1; the reference: 1e-3).
    pub learning_rate: f64,
    /// Seed of the data, the initialisation and the batches.
    pub seed: u64,
}

impl OverlapConfig {
    /// The reference script's two-class setting at μ = 0.05 with a 512-wide MLP (the paper
    /// trains image networks on it; an MLP of that width interpolates the training set too).
    pub fn reference() -> OverlapConfig {
        OverlapConfig {
            classes: 2,
            dim: 300,
            samples: 5000,
            separation: 0.05,
            label_noise: 0.0,
            hidden: vec![512],
            training: Training::Erm,
            epochs: 200,
            batch: 500,
            learning_rate: 1e-3,
            seed: 42,
        }
    }

    /// Errors: [`CoreError::OutOfRange`] naming the first field outside its range (field docs).
    pub fn check(&self) -> Result<(), CoreError> {
        let range = crate::calibrate::check_range;
        range("number of classes", self.classes as f64, 2.0, 10.0)?;
        range("input dimension", self.dim as f64, 1.0, 1024.0)?;
        range("samples", self.samples as f64, 100.0, 100_000.0)?;
        range("class separation μ", self.separation, 0.0, 100.0)?;
        range("label noise", self.label_noise, 0.0, 0.9)?;
        range("hidden layers", self.hidden.len() as f64, 0.0, 4.0)?;
        for &h in &self.hidden {
            range("hidden width", h as f64, 1.0, 2048.0)?;
        }
        if let Training::Mixup { points, alpha } = self.training {
            range("Mixup points d", points as f64, 2.0, 10.0)?;
            range("Dirichlet α", alpha, 1e-3, 100.0)?;
        }
        range("epochs", self.epochs as f64, 1.0, 5000.0)?;
        range("batch size", self.batch as f64, 1.0, 100_000.0)?;
        range("learning rate", self.learning_rate, f64::MIN_POSITIVE, 1.0)
    }
}

/// Test-split scores after one epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// Epochs done (1-based).
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Test mean NLL.
    pub test_nll: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Test ECE (netcal, 15 bins).
    pub test_ece: f64,
}

/// NLL, accuracy and ECE of one model on the test split.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestScores {
    /// Mean NLL.
    pub nll: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// ECE (netcal, 15 bins).
    pub ece: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OverlapResult {
    /// Training accuracy at the end (1 for an interpolator).
    pub train_accuracy: f64,
    /// Test scores at `T = 1`.
    pub before: TestScores,
    /// The temperature fitted on the calibration split, or why there is none (when the network is
    /// no better than uniform on it, the NLL falls as T grows without bound: that is a result of
    /// the experiment at full overlap, not a failure of the run).
    pub temperature: Result<TemperatureFit, String>,
    /// Test scores at that temperature (none without one).
    pub after: Option<TestScores>,
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct OverlapRun {
    config: OverlapConfig,
    data: OverlapData,
    net: Mlp,
    adam: Adam,
    rng: ChaCha8Rng,
    epoch: usize,
}

fn matrix(split: &Split, dim: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(split.len(), dim, &split.x)
}

fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    m.transpose().as_slice().to_vec()
}

fn scores_of(logits: &[f64], k: usize, labels: &[usize], t: f64) -> Result<TestScores, CoreError> {
    let s = Scores::new(logits, k, labels)?;
    let (conf, correct) = top_label(&s, t);
    let binning = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::LowerClosed,
    };
    Ok(TestScores {
        nll: nll(&s, t),
        accuracy: accuracy(&s),
        ece: calibration_error(
            &reliability(&netcal_clip(&conf), &correct, &binning)?,
            Norm::L1,
        ),
    })
}

impl OverlapRun {
    /// Draws the data and initialises the network. Errors: as [`OverlapConfig::check`].
    pub fn new(config: OverlapConfig) -> Result<OverlapRun, CoreError> {
        config.check()?;
        let data = data::generate(
            config.samples,
            config.dim,
            config.classes,
            config.separation,
            config.label_noise,
            config.seed,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x6d69_7875_7021);
        let mut sizes = vec![config.dim];
        sizes.extend(&config.hidden);
        sizes.push(config.classes);
        let net = Mlp::new(&sizes, &mut rng);
        let adam = Adam::new(&net, config.learning_rate);
        Ok(OverlapRun {
            config,
            data,
            net,
            adam,
            rng,
            epoch: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OverlapConfig {
        &self.config
    }

    /// The data.
    pub fn data(&self) -> &OverlapData {
        &self.data
    }

    /// Epochs done.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// All epochs done.
    pub fn done(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    /// Logits of `split`, row-major.
    pub fn logits(&self, split: &Split) -> Vec<f64> {
        row_major(&self.net.logits(&matrix(split, self.config.dim)))
    }

    /// One epoch of minibatch training, then the test scores.
    pub fn epoch(&mut self) -> Result<EpochReport, CoreError> {
        let (dim, k) = (self.config.dim, self.config.classes);
        let train = &self.data.train;
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut self.rng);
        let (mut loss_sum, mut batches) = (0.0, 0usize);
        for batch in order.chunks(self.config.batch) {
            let b = batch.len();
            let mut x = DMatrix::zeros(b, dim);
            let mut targets = DMatrix::zeros(b, k);
            match self.config.training {
                Training::Erm => {
                    for (r, &i) in batch.iter().enumerate() {
                        for c in 0..dim {
                            x[(r, c)] = train.x[i * dim + c];
                        }
                        targets[(r, train.y[i])] = 1.0;
                    }
                }
                Training::Mixup { points, alpha } => {
                    let weights: Vec<f64> = rand_distr::multi::Dirichlet::new(&vec![alpha; points])
                        .map_err(|_| CoreError::OutOfRange {
                            what: "Dirichlet α",
                            value: alpha,
                            min: 1e-3,
                            max: 100.0,
                        })?
                        .sample(&mut self.rng);
                    let mut perms = vec![batch.to_vec()];
                    for _ in 1..points {
                        let mut p = batch.to_vec();
                        p.shuffle(&mut self.rng);
                        perms.push(p);
                    }
                    for r in 0..b {
                        for (perm, &w) in perms.iter().zip(&weights) {
                            let i = perm[r];
                            for c in 0..dim {
                                x[(r, c)] += w * train.x[i * dim + c];
                            }
                            targets[(r, train.y[i])] += w;
                        }
                    }
                }
            }
            let (loss, grads) = self.net.loss_and_gradient(&x, &targets);
            self.adam.step(&mut self.net, &grads);
            loss_sum += loss;
            batches += 1;
        }
        self.epoch += 1;
        let test = scores_of(&self.logits(&self.data.test), k, &self.data.test.y, 1.0)?;
        Ok(EpochReport {
            epoch: self.epoch,
            train_loss: loss_sum / batches as f64,
            test_nll: test.nll,
            test_accuracy: test.accuracy,
            test_ece: test.ece,
        })
    }

    /// Fits the temperature on the calibration split and scores the test split before and after.
    ///
    /// Errors: as [`Scores::new`] (never for a run's own logits, which are finite).
    pub fn finish(&self) -> Result<OverlapResult, CoreError> {
        let k = self.config.classes;
        let cal = self.logits(&self.data.calibration);
        let temperature = match fit_temperature(&Scores::new(&cal, k, &self.data.calibration.y)?) {
            Ok(fit) => Ok(fit),
            Err(e @ CoreError::NoOptimalTemperature { .. }) => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        let test = self.logits(&self.data.test);
        let train = self.logits(&self.data.train);
        let after = match &temperature {
            Ok(fit) => Some(scores_of(&test, k, &self.data.test.y, fit.temperature)?),
            Err(_) => None,
        };
        Ok(OverlapResult {
            train_accuracy: accuracy(&Scores::new(&train, k, &self.data.train.y)?),
            before: scores_of(&test, k, &self.data.test.y, 1.0)?,
            after,
            temperature,
        })
    }
}

/// Runs `config` to the end: every epoch's report and the result.
pub fn run(config: OverlapConfig) -> Result<(Vec<EpochReport>, OverlapResult), CoreError> {
    let mut r = OverlapRun::new(config)?;
    let mut reports = Vec::with_capacity(r.config.epochs);
    while !r.done() {
        reports.push(r.epoch()?);
    }
    Ok((reports, r.finish()?))
}
