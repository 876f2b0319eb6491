//! Light/dark theme: follows the system (`prefers-color-scheme`) until the user picks one; the choice
//! is kept in `localStorage` and applied as `data-theme` on the root element.

use leptos::prelude::*;

const KEY: &str = "scalelab-theme";

/// The user's theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Follow the operating system.
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn parse(s: &str) -> Theme {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn apply(theme: Theme) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let _ = match theme {
        Theme::System => root.remove_attribute("data-theme"),
        t => root.set_attribute("data-theme", t.name()),
    };
}

/// A button cycling System → Light → Dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let initial = storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|s| Theme::parse(&s))
        .unwrap_or(Theme::System);
    let theme = RwSignal::new(initial);
    Effect::new(move |_| {
        let t = theme.get();
        apply(t);
        if let Some(s) = storage() {
            let _ = s.set_item(KEY, t.name());
        }
    });
    let label = move || match theme.get() {
        Theme::System => "Theme: system",
        Theme::Light => "Theme: light",
        Theme::Dark => "Theme: dark",
    };
    view! {
        <button type="button" class="theme-toggle" data-theme-choice=move || theme.get().name()
            title="Switch between the system theme, light and dark"
            on:click=move |_| theme.update(|t| *t = t.next())>
            {label}
        </button>
    }
}
