//! The few things the page asks of the browser, each failing quietly when the browser says
//! no (outside a browser, in a test, everything here does nothing).

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// The document.
pub fn document() -> Option<web_sys::Document> {
    window()?.document()
}

/// The URL's query string (`?scenario=…`).
pub fn search() -> String {
    window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// Replace the URL's query string without reloading or adding to the history.
pub fn replace_search(search: &str) {
    if let Some(history) = window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(search));
    }
}

/// Drop the URL's query string (the page's plain address), without reloading.
pub fn clear_search() {
    let path = window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into());
    replace_search(&path);
}

/// The whole URL of this page with `search` as its query.
pub fn url_with(search: &str) -> String {
    let location = window().map(|w| w.location());
    let origin = location
        .as_ref()
        .and_then(|l| l.origin().ok())
        .unwrap_or_default();
    let path = location
        .as_ref()
        .and_then(|l| l.pathname().ok())
        .unwrap_or_default();
    format!("{origin}{path}{search}")
}

/// Put `text` on the clipboard.
pub fn copy(text: &str) {
    if let Some(w) = window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

/// Whether a key press is typing into a form field (keys then belong to the field).
pub fn typing_in_a_field(event: &web_sys::KeyboardEvent) -> bool {
    let Some(target) = event.target() else {
        return false;
    };
    target
        .dyn_ref::<web_sys::HtmlInputElement>()
        .is_some_and(|i| !matches!(i.type_().as_str(), "range" | "button" | "checkbox"))
        || target.dyn_ref::<web_sys::HtmlTextAreaElement>().is_some()
        || target.dyn_ref::<web_sys::HtmlSelectElement>().is_some()
}

/// Set `window[name] = value`.
fn set_global(name: &str, value: &JsValue) {
    if let Some(w) = window() {
        let _ = js_sys::Reflect::set(&w, &JsValue::from_str(name), value);
    }
}

fn now() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// `window.__kafkasimFirstFrame`: when the first frame with a run was drawn (ms since
/// navigation).
pub fn mark_first_frame() {
    let key = JsValue::from_str("__kafkasimFirstFrame");
    if let Some(w) = window()
        && js_sys::Reflect::get(&w, &key).is_ok_and(|v| v.is_undefined())
    {
        set_global("__kafkasimFirstFrame", &JsValue::from_f64(now()));
    }
}

/// `window.__kafkasimFrames`: animation frames drawn while playing.
pub fn count_frame() {
    if let Some(w) = window() {
        let key = JsValue::from_str("__kafkasimFrames");
        let n = js_sys::Reflect::get(&w, &key)
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        set_global("__kafkasimFrames", &JsValue::from_f64(n + 1.0));
    }
}
