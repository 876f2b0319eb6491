//! The Step Law calculator: the optimal learning rate and batch size for a model size and a token
//! budget (Li et al., “Predictable Scale: Part I”, 2025).

use leptos::prelude::*;
use scalelab_core::fit::step_law::step_law;

use crate::url_state::UrlState;
use crate::widgets::field::{parse_positive, Field};

/// The Step Law panel.
#[component]
pub(super) fn StepLawPanel() -> impl IntoView {
    let url = UrlState::get();
    let raw = move |key: &'static str, default: &'static str| {
        let r = url.read(key);
        Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
    };
    let n_text = raw("sn", "1e9");
    let d_text = raw("sd", "1e11");
    let n = Memo::new(move |_| n_text.with(|t| parse_positive(t, "model size N")));
    let d = Memo::new(move |_| d_text.with(|t| parse_positive(t, "training tokens D")));
    let error = |m: Memo<Result<f64, scalelab_core::CoreError>>| {
        Signal::derive(move || m.with(|r| r.as_ref().err().map(|e| e.to_string())))
    };
    view! {
        <section class="panel" aria-labelledby="steplaw-heading">
            <h2 id="steplaw-heading">"Step Law: optimal learning rate and batch size"</h2>
            <p class="hint">"η_opt = 1.79·N^−0.713·D^0.307 and B_opt = 0.58·D^0.571 tokens (Li et al., “Predictable Scale: Part I”, 2025)."</p>
            <div class="controls">
                <Field key="sn" id_prefix="fit-" label="Model size N (parameters)" text=n_text error=error(n) />
                <Field key="sd" id_prefix="fit-" label="Training tokens D" text=d_text error=error(d) />
            </div>
            <p id="steplaw-result">{move || match (n.get(), d.get()) {
                (Ok(n), Ok(d)) => match step_law(n, d) {
                    Ok(s) => format!("η_opt = {:.4e}, B_opt = {:.4e} tokens", s.lr, s.batch_tokens),
                    Err(e) => e.to_string(),
                },
                _ => String::new(),
            }}</p>
        </section>
    }
}
