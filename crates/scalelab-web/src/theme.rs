//! Light/dark theme: follows the system (`prefers-color-scheme`) until the user (or, in an embed, the
//! host page) picks one; the choice is kept in `localStorage` and applied as `data-theme` on the
//! root element.

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

    /// `"system"`, `"light"` or `"dark"`.
    pub fn name(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The theme named `s`, if it is one.
    pub fn from_name(s: &str) -> Option<Theme> {
        match s {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
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

/// Provides the page's theme signal (the stored choice, else the system's), applied and stored on
/// every change.
pub fn provide_theme() -> RwSignal<Theme> {
    let initial = storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|s| Theme::from_name(&s))
        .unwrap_or(Theme::System);
    let theme = RwSignal::new(initial);
    Effect::new(move |_| {
        let t = theme.get();
        apply(t);
        if let Some(s) = storage() {
            let _ = s.set_item(KEY, t.name());
        }
    });
    provide_context(theme);
    theme
}

/// A button cycling System → Light → Dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = expect_context::<RwSignal<Theme>>();
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
