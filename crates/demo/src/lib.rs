//! The demo page (the root `index.html`, built by Trunk): the five seed products over
//! the embeddable widget, as an operator's own page would use it. Nothing here ships in
//! `creditkit-widget`, the module and npm package embedders install.

mod demo;

/// Registers the widget's custom elements and mounts the demo on `#creditkit-demo`.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    creditkit_widget::register_elements();
    demo::mount_if_present();
}
