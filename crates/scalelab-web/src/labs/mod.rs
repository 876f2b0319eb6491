//! The lab registry: every lab's URL key, titles, home-page card and page. The shell, the
//! navigation, the page title and the home page iterate [`Lab::ALL`]; code names a lab by its
//! variant (`Lab::Fit`), never by its key, so a key no entry owns cannot be written.
//!
//! Adding a lab: its numerics in `scalelab-core`, its page module here, its worker job in
//! `worker::jobs`, one variant below with its match arms — and, since each built lab ships as its
//! own WebAssembly bundle ([`Lab::bundle`]), its bundle: `src/bin/<bundle>.rs` (mounting its page),
//! a `<link>` in `index.html` and an entry in `www/loader.js`. A test fails until all three exist.

#[cfg(target_arch = "wasm32")]
pub mod calibrate;
#[cfg(target_arch = "wasm32")]
pub mod fit;
#[cfg(target_arch = "wasm32")]
pub mod home;
#[cfg(target_arch = "wasm32")]
pub mod kernels;
#[cfg(target_arch = "wasm32")]
pub mod planned;
#[cfg(target_arch = "wasm32")]
pub mod stablemax;

/// A lab of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lab {
    /// The landing page.
    Home,
    /// StableMax and Softmax Collapse.
    StableMax,
    /// Scaling-law fitting.
    Fit,
    /// The WebGPU kernels.
    Kernels,
    /// Calibration: temperature scaling, metrics and their conventions, the overlap experiment.
    Calibrate,
    /// Guidance (planned).
    Guidance,
}

/// A lab's card on the home page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card {
    /// The card's heading.
    pub title: &'static str,
    /// What the lab does.
    pub blurb: &'static str,
}

impl Lab {
    /// Every lab, in navigation and home-page order.
    pub const ALL: [Lab; 6] = [
        Lab::Home,
        Lab::StableMax,
        Lab::Fit,
        Lab::Kernels,
        Lab::Calibrate,
        Lab::Guidance,
    ];

    /// The value of the `lab` query key (`home` is the bare address).
    pub fn key(self) -> &'static str {
        match self {
            Lab::Home => "home",
            Lab::StableMax => "stablemax",
            Lab::Fit => "fit",
            Lab::Kernels => "kernels",
            Lab::Calibrate => "calibrate",
            Lab::Guidance => "guidance",
        }
    }

    /// The lab whose key is `key`.
    pub fn from_key(key: &str) -> Option<Lab> {
        Lab::ALL.into_iter().find(|l| l.key() == key)
    }

    /// The page title.
    pub fn title(self) -> &'static str {
        match self {
            Lab::Home => "Scalelab — interactive, exact ML-scaling mathematics",
            Lab::StableMax => "StableMax & Softmax Collapse · Scalelab",
            Lab::Fit => "Fit a scaling law · Scalelab",
            Lab::Kernels => "Kernels on WebGPU · Scalelab",
            Lab::Calibrate => "Calibrate a classifier · Scalelab",
            Lab::Guidance => "Guidance (planned) · Scalelab",
        }
    }

    /// The navigation link's text; `None` for labs not in the navigation (planned ones).
    pub fn nav_text(self) -> Option<&'static str> {
        match self {
            Lab::Home => Some("Home"),
            Lab::StableMax => Some("StableMax"),
            Lab::Fit => Some("Fit"),
            Lab::Kernels => Some("Kernels"),
            Lab::Calibrate => Some("Calibrate"),
            Lab::Guidance => None,
        }
    }

    /// Whether the lab is built (planned labs show a card and a placeholder page).
    pub fn ready(self) -> bool {
        !matches!(self, Lab::Guidance)
    }

    /// The home-page card; `None` for the home page itself.
    pub fn card(self) -> Option<Card> {
        let (title, blurb) = match self {
            Lab::Home => return None,
            Lab::StableMax => (
                "StableMax & Softmax Collapse",
                "Scale a logit vector — or a whole vocabulary — until float32 rounds the softmax to a \
                 one-hot and the gradient vanishes; compare StableMax, in f16, bf16, f32 and f64.",
            ),
            Lab::Fit => (
                "Fit: scaling laws",
                "Power laws, Chinchilla L(N,D), broken power laws and loss-curve laws fitted exactly, \
                 with uncertainty, extrapolation and compute-optimal allocation.",
            ),
            Lab::Kernels => (
                "Kernels",
                "Matmul, row softmax/StableMax, cross-entropy, reductions, AdamW and ⊥AdamW, a GMM \
                 denoiser: timed on WebGPU against the CPU, each checked against an f64 oracle.",
            ),
            Lab::Calibrate => (
                "Calibrate",
                "Temperature scaling fitted exactly, every ECE convention, reliability diagrams with \
                 bootstrap intervals and CORP — and, trained live, where temperature scaling fails.",
            ),
            Lab::Guidance => (
                "Guidance",
                "Classifier-free guidance against Adaptive Projected Guidance on diffusion toys with \
                 exact scores.",
            ),
        };
        Some(Card { title, blurb })
    }

    /// Whether the lab's page uses the compute worker (it is then started when the page mounts).
    pub fn uses_worker(self) -> bool {
        matches!(
            self,
            Lab::StableMax | Lab::Fit | Lab::Kernels | Lab::Calibrate
        )
    }

    /// The WebAssembly bundle that renders the lab's page: each built lab has its own (so a page
    /// loads only its lab's code); the home page and the planned labs share `home`. The bundle is
    /// the binary `src/bin/<bundle>.rs`, linked in `index.html` and chosen by `www/loader.js`.
    pub fn bundle(self) -> &'static str {
        match self {
            Lab::Home | Lab::Guidance => "home",
            Lab::Calibrate => "calibrate",
            Lab::StableMax => "stablemax",
            Lab::Fit => "fit",
            Lab::Kernels => "kernels",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lab;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_round_trip() {
        let keys: HashSet<&str> = Lab::ALL.iter().map(|l| l.key()).collect();
        assert_eq!(keys.len(), Lab::ALL.len());
        for lab in Lab::ALL {
            assert_eq!(Lab::from_key(lab.key()), Some(lab));
            assert!(!lab.title().is_empty());
            assert_eq!(lab.card().is_none(), lab == Lab::Home);
            assert_eq!(lab.nav_text().is_some(), lab.ready());
        }
        assert_eq!(Lab::from_key("nope"), None);
    }

    #[test]
    fn every_bundle_has_its_binary_its_link_and_its_loader_entry() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let read = |p: &str| {
            std::fs::read_to_string(format!("{root}/{p}")).unwrap_or_else(|e| panic!("{p}: {e}"))
        };
        let (index, loader) = (read("index.html"), read("www/loader.js"));
        for lab in Lab::ALL {
            let b = lab.bundle();
            let bin = read(&format!("crates/scalelab-web/src/bin/{b}.rs"));
            assert!(
                bin.contains(&format!("name: \"{b}\"")),
                "src/bin/{b}.rs mounts bundle {b}"
            );
            assert!(
                index.contains(&format!("data-bin=\"{b}\"")),
                "index.html links bundle {b}"
            );
            if b != "home" {
                assert!(
                    loader.contains(&format!("{}: \"{b}\"", lab.key())),
                    "www/loader.js maps ?lab={} to bundle {b}",
                    lab.key()
                );
            }
        }
    }
}
