//! A text field followed edit by edit: on each `input` event the page's JavaScript
//! finds what changed (the caret before and after the event tell where, so it compares
//! a few characters and two slices, not the text) and hands over only that edit. The
//! count is brought up to date in the event handler ([`TypedText::edit`]); the whole
//! text crosses into WebAssembly only at the start, when an edit does not fit (a
//! change inside a surrogate pair), and when a script set the field's value since the
//! last input event (seen at the next `beforeinput`: the browser hands back the same
//! string object while the value is unchanged, so the check is one comparison).

use wasm_bindgen::prelude::*;

use crate::tokens::TypedText;

#[wasm_bindgen(inline_js = r#"
// The edit that turns `prev` into `next`, as [offset, removed, inserted] in UTF-16
// units. `at` is where the caret says the edit starts and `tail` how many units after
// it are unchanged; each is checked (two slice comparisons) and extended, so a wrong
// hint costs a scan, never a wrong edit.
function diff(prev, next, at, tail) {
  const min = Math.min(prev.length, next.length);
  let a = Math.min(at, min);
  if (a > 0 && prev.slice(0, a) !== next.slice(0, a)) a = 0;
  while (a < min && prev.charCodeAt(a) === next.charCodeAt(a)) a++;
  const room = min - a;
  let s = Math.max(0, Math.min(tail, room));
  if (s > 0 && prev.slice(prev.length - s) !== next.slice(next.length - s)) s = 0;
  while (s < room && prev.charCodeAt(prev.length - 1 - s) === next.charCodeAt(next.length - 1 - s)) s++;
  return [a, prev.length - s - a, next.slice(a, next.length - s)];
}
export function followEdits(field, edit, whole) {
  let prev = field.value;
  let before = 0;
  whole(prev);
  const onBefore = () => {
    // Set by a script since the last input event (no event tells): start from it.
    const now = field.value;
    if (now !== prev) { prev = now; whole(now); }
    before = field.selectionStart ?? 0;
  };
  const onInput = () => {
    const next = field.value;
    const caret = field.selectionStart ?? 0;
    const tail = next.length - (field.selectionEnd ?? next.length);
    const [a, removed, inserted] = diff(prev, next, Math.min(before, caret), tail);
    prev = next;
    before = caret;
    if (!edit(a, removed, inserted)) whole(next);
  };
  field.addEventListener("beforeinput", onBefore);
  field.addEventListener("input", onInput);
  return () => {
    field.removeEventListener("beforeinput", onBefore);
    field.removeEventListener("input", onInput);
  };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = followEdits)]
    fn follow_edits_js(
        field: &web_sys::Element,
        edit: &Closure<dyn Fn(u32, u32, String) -> bool>,
        whole: &Closure<dyn Fn(String)>,
    ) -> js_sys::Function;
}

/// Listening to a field; stops when dropped.
pub struct Following {
    stop: js_sys::Function,
    _edit: Closure<dyn Fn(u32, u32, String) -> bool>,
    _whole: Closure<dyn Fn(String)>,
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.stop.call0(&JsValue::NULL);
    }
}

/// Follows the value of `field` (a textarea or an input) into `typed`, one edit per
/// input event, until the returned [`Following`] is dropped.
pub fn follow_edits(field: &web_sys::Element, typed: &TypedText) -> Following {
    let typed = *typed;
    let edit = {
        Closure::<dyn Fn(u32, u32, String) -> bool>::new(
            move |offset: u32, removed: u32, inserted: String| {
                typed.edit(offset as usize, removed as usize, &inserted)
            },
        )
    };
    let whole = Closure::<dyn Fn(String)>::new(move |text: String| typed.set(&text));
    let stop = follow_edits_js(field, &edit, &whole);
    Following {
        stop,
        _edit: edit,
        _whole: whole,
    }
}
