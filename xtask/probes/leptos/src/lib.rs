//! The floor of any Leptos page: what `cargo xtask size` compares the widget page with.
// With `engine`, the engine probe's exports are linked in too.
#[cfg(feature = "engine")]
extern crate creditkit_probe_engine;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(js_name = mountProbe)]
pub fn mount_probe() {
    leptos::mount::mount_to_body(|| {
        let (count, set_count) = signal(0u32);
        let text = RwSignal::new(String::new());
        let many = move || count.get() > 2;
        let items = move || (0..count.get()).collect::<Vec<_>>();
        view! {
            <button on:click=move |_| set_count.update(|n| *n += 1)>"count " {count}</button>
            <input on:input=move |e| text.set(event_target_value(&e)) />
            <Show when=many fallback=|| view! { <p>"few"</p> }>
                <p>"many " {move || text.get()}</p>
            </Show>
            <For each=items key=|k| *k let:k><li>{k}</li></For>
        }
    })
}
