//! Every control's state lives in the URL query string, so any view can be shared or bookmarked.
//!
//! The pure half ([`Query`]) parses and writes query strings; the browser half ([`UrlState`]) keeps one
//! reactive copy of the query, writes control changes with `history.replaceState` (no new history
//! entry, no scroll jump) and lab changes with `pushState` (so Back returns to the previous lab).

use std::collections::BTreeMap;

/// A parsed query string: keys in sorted order, so the written URL is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(pub BTreeMap<String, String>);

impl Query {
    /// Parses `?a=1&b=x%20y` (with or without the leading `?`); `+` reads as a space.
    pub fn parse(search: &str) -> Query {
        let mut map = BTreeMap::new();
        for pair in search
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(decode(k), decode(v));
        }
        Query(map)
    }

    /// Writes `?a=1&b=x%20y`, or an empty string when there are no keys.
    pub fn to_search(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("?{}", parts.join("&"))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Longest value kept in the URL; a longer one (a pasted data set) stays in the page, and the link
/// keeps only the other settings.
pub const MAX_URL_VALUE: usize = 4000;

#[cfg(target_arch = "wasm32")]
pub use browser::UrlState;

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::{Query, MAX_URL_VALUE};
    use crate::labs::Lab;
    use leptos::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use wasm_bindgen::JsValue;

    /// The page's query string as a signal; provided once by the app shell, used by every control.
    #[derive(Clone, Copy)]
    pub struct UrlState {
        query: RwSignal<Query>,
        /// Values too long for the URL, by key (shared: a 10⁵-row paste is copied once, not by
        /// every memo and job that reads it).
        local: RwSignal<BTreeMap<String, Arc<str>>>,
        /// The bundle of this page: it renders the labs of that bundle (opening another loads its page).
        bundle: &'static str,
    }

    /// Every bundle renders the home page and its own labs.
    fn renders(bundle: &str, lab: Lab) -> bool {
        lab == Lab::Home || lab.bundle() == bundle
    }

    fn current_search() -> String {
        web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default()
    }

    impl UrlState {
        /// Reads the current URL and follows Back/Forward (`popstate`); `bundle` is the page's
        /// bundle (Back to a lab of another bundle loads its page).
        pub fn install(bundle: &'static str) -> UrlState {
            let query = RwSignal::new(Query::parse(&current_search()));
            let local = RwSignal::new(BTreeMap::new());
            let handle = window_event_listener_untyped("popstate", move |_| {
                let q = Query::parse(&current_search());
                let lab = q.get("lab").and_then(Lab::from_key).unwrap_or(Lab::Home);
                if !renders(bundle, lab) {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                    return;
                }
                query.set(q)
            });
            on_cleanup(move || handle.remove());
            UrlState {
                query,
                local,
                bundle,
            }
        }

        /// The provided instance.
        pub fn get() -> UrlState {
            expect_context::<UrlState>()
        }

        /// Reactive read of one key (a value kept in the page first, then the URL's): notifies only
        /// when that key's value changes, so a control's update does not re-run views that depend
        /// on other keys.
        pub fn read(&self, key: impl Into<String>) -> Memo<Option<String>> {
            let (query, local) = (self.query, self.local);
            let key = key.into();
            Memo::new(move |_| {
                local
                    .with(|l| l.get(&key).map(|v| v.to_string()))
                    .or_else(|| query.with(|q| q.get(&key).map(str::to_string)))
            })
        }

        /// [`UrlState::read`] for a value that may be long (a pasted data set): a value kept in
        /// the page is shared, not copied, and compares by pointer first.
        pub fn read_shared(&self, key: impl Into<String>) -> Memo<Option<Arc<str>>> {
            let (query, local) = (self.query, self.local);
            let key = key.into();
            Memo::new(move |_| {
                local
                    .with(|l| l.get(&key).cloned())
                    .or_else(|| query.with(|q| q.get(&key).map(Arc::from)))
            })
        }

        /// `true` while the value of `key` is too long for the link and kept in the page.
        pub fn is_local(&self, key: &'static str) -> Memo<bool> {
            let local = self.local;
            Memo::new(move |_| local.with(|l| l.contains_key(key)))
        }

        /// Sets (or with `None` removes) keys and replaces the current history entry: no new entry, no
        /// scroll. Unchanged values write nothing. A value longer than [`MAX_URL_VALUE`] is kept in
        /// the page instead of the URL.
        pub fn set_many(&self, entries: &[(&str, Option<String>)]) {
            let shared: Vec<(&str, Option<Arc<str>>)> = entries
                .iter()
                .map(|(k, v)| (*k, v.as_deref().map(Arc::from)))
                .collect();
            self.set_shared(&shared);
        }

        /// [`UrlState::set_many`] with shared values (a long one is kept without a copy).
        pub fn set_shared(&self, entries: &[(&str, Option<Arc<str>>)]) {
            let mut next = self.query.get_untracked();
            for (k, v) in entries {
                let long = v.as_ref().is_some_and(|v| v.len() > MAX_URL_VALUE);
                // The page's copy of a long value changes in place (no copy of the other values).
                let local_changed = self.local.with_untracked(|l| match (l.get(*k), long) {
                    (Some(old), true) => Some(old) != v.as_ref(),
                    (None, true) => true,
                    (Some(_), false) => true,
                    (None, false) => false,
                });
                if local_changed {
                    self.local.update(|l| match (long, v) {
                        (true, Some(v)) => {
                            l.insert((*k).to_string(), v.clone());
                        }
                        _ => {
                            l.remove(*k);
                        }
                    });
                }
                match v {
                    Some(v) if !long => next.0.insert((*k).to_string(), v.to_string()),
                    _ => next.0.remove(*k),
                };
            }
            if next != self.query.get_untracked() {
                write_history(&next, false);
                self.query.set(next);
            }
        }

        /// [`UrlState::set_many`] for one key.
        pub fn set(&self, key: &str, value: Option<String>) {
            self.set_many(&[(key, value)]);
        }

        /// Opens another lab: a new history entry with only `lab` set, and a scroll to the top (or,
        /// when another bundle renders it, that page).
        pub fn open_lab(&self, lab: Lab) {
            let mut next = Query::default();
            if lab != Lab::Home {
                next.0.insert("lab".into(), lab.key().into());
            }
            if !renders(self.bundle, lab) {
                if let Some(w) = web_sys::window() {
                    let path = w.location().pathname().unwrap_or_default();
                    let _ = w.location().assign(&format!("{path}{}", next.to_search()));
                }
                return;
            }
            write_history(&next, true);
            self.local.set(BTreeMap::new());
            self.query.set(next);
            if let Some(w) = web_sys::window() {
                w.scroll_to_with_x_and_y(0.0, 0.0);
            }
        }

        /// The page's address with `changes` applied to its query (for embed snippets and the
        /// "Open in Scalelab" link).
        pub fn href_with(&self, changes: &[(&str, Option<&str>)]) -> String {
            let mut q = self.query.get();
            for (k, v) in changes {
                match v {
                    Some(v) => q.0.insert((*k).to_string(), (*v).to_string()),
                    None => q.0.remove(*k),
                };
            }
            let Some(window) = web_sys::window() else {
                return q.to_search();
            };
            let loc = window.location();
            format!(
                "{}{}{}",
                loc.origin().unwrap_or_default(),
                loc.pathname().unwrap_or_default(),
                q.to_search()
            )
        }
    }

    fn write_history(q: &Query, push: bool) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let Ok(history) = window.history() else {
            return;
        };
        let path = window.location().pathname().unwrap_or_default();
        let hash = window.location().hash().unwrap_or_default();
        let url = format!("{path}{}{hash}", q.to_search());
        let _ = if push {
            history.push_state_with_url(&JsValue::NULL, "", Some(&url))
        } else {
            history.replace_state_with_url(&JsValue::NULL, "", Some(&url))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn parses_and_writes_round_trip() {
        let q = Query::parse("?lab=stablemax&z=3%2C1%2C-0.5&note=a+b");
        assert_eq!(q.get("lab"), Some("stablemax"));
        assert_eq!(q.get("z"), Some("3,1,-0.5"));
        assert_eq!(q.get("note"), Some("a b"));
        assert_eq!(q.to_search(), "?lab=stablemax&note=a%20b&z=3,1,-0.5");
        assert_eq!(Query::parse(&q.to_search()), q);
    }

    #[test]
    fn tolerates_broken_escapes_and_empty_input() {
        assert_eq!(Query::parse("").to_search(), "");
        assert_eq!(Query::parse("?a=%zz&b=%4").get("a"), Some("%zz"));
        assert_eq!(Query::parse("?a=%zz&b=%4").get("b"), Some("%4"));
        assert_eq!(Query::parse("?flag").get("flag"), Some(""));
        assert_eq!(Query::parse("?u=%E2%9C%93").get("u"), Some("✓"));
    }
}
