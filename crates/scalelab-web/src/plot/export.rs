//! Saving a rendered chart as a standalone SVG or a PNG file.

use crate::download::{blob_url, download_href, download_text};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlImageElement, SvgElement, Url};

/// A file name made of the title's letters and digits.
pub fn file_stem(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "chart".into()
    } else {
        s
    }
}

/// The chart as a standalone SVG document: computed text colour and a solid background inlined, so the
/// file looks the same outside the page.
pub fn svg_markup(svg: &SvgElement) -> Result<String, JsValue> {
    let clone: SvgElement = svg.clone_node_with_deep(true)?.unchecked_into();
    let window = web_sys::window().ok_or("no window")?;
    let (color, background) = match window.get_computed_style(svg)? {
        Some(style) => (
            style.get_property_value("color")?,
            window
                .get_computed_style(
                    &window
                        .document()
                        .ok_or("no document")?
                        .body()
                        .ok_or("no body")?
                        .into(),
                )?
                .map(|s| s.get_property_value("background-color"))
                .transpose()?
                .unwrap_or_else(|| "#fff".into()),
        ),
        None => ("#222".into(), "#fff".into()),
    };
    clone.set_attribute("xmlns", "http://www.w3.org/2000/svg")?;
    let document = window.document().ok_or("no document")?;
    let backdrop = document.create_element_ns(Some("http://www.w3.org/2000/svg"), "rect")?;
    for (k, v) in [
        ("x", "0"),
        ("y", "0"),
        ("width", "100%"),
        ("height", "100%"),
    ] {
        backdrop.set_attribute(k, v)?;
    }
    backdrop.set_attribute("fill", &background)?;
    clone.prepend_with_node_1(&backdrop)?;
    clone.set_attribute(
        "style",
        &format!("color:{color};background:{background};font-family:sans-serif"),
    )?;
    web_sys::XmlSerializer::new()?.serialize_to_string(&clone)
}

/// Downloads the chart as `<stem>.svg`.
pub fn save_svg(svg: &SvgElement, stem: &str) -> Result<(), JsValue> {
    download_text(
        &format!("{stem}.svg"),
        "image/svg+xml;charset=utf-8",
        &svg_markup(svg)?,
    )
}

/// Downloads the chart as `<stem>.png` at twice its on-screen size.
pub fn save_png(svg: &SvgElement, stem: &str) -> Result<(), JsValue> {
    let markup = svg_markup(svg)?;
    let rect = svg.get_bounding_client_rect();
    let (w, h) = (rect.width().max(1.0) * 2.0, rect.height().max(1.0) * 2.0);
    let url = blob_url(&markup, "image/svg+xml;charset=utf-8")?;
    let img = HtmlImageElement::new()?;
    let stem = stem.to_string();
    let img2 = img.clone();
    let url2 = url.clone();
    let onload = Closure::once_into_js(move || {
        let result = (|| -> Result<(), JsValue> {
            let document = web_sys::window()
                .and_then(|w| w.document())
                .ok_or("no document")?;
            let canvas: HtmlCanvasElement = document.create_element("canvas")?.unchecked_into();
            canvas.set_width(w as u32);
            canvas.set_height(h as u32);
            let ctx: web_sys::CanvasRenderingContext2d = canvas
                .get_context("2d")?
                .ok_or("no 2d context")?
                .unchecked_into();
            ctx.draw_image_with_html_image_element_and_dw_and_dh(&img2, 0.0, 0.0, w, h)?;
            download_href(
                &canvas.to_data_url_with_type("image/png")?,
                &format!("{stem}.png"),
            )
        })();
        let _ = Url::revoke_object_url(&url2);
        if let Err(e) = result {
            web_sys::console::error_2(&"scalelab: PNG export failed".into(), &e);
        }
    });
    img.set_onload(Some(onload.unchecked_ref()));
    img.set_src(&url);
    Ok(())
}
