//! `#[derive(FromJson)]` and `#[derive(ToJson)]`: the browser's serde-free JSON for a
//! wire type, generated from the struct itself, so its fields are declared once.
//!
//! They follow the struct's serde attributes, as the server's serde derives do: a field's
//! JSON name is its name or its `#[serde(rename = "…")]`; `#[serde(default)]` (in any
//! form) reads an absent or `null` field as `Default::default()`; a field with
//! `#[serde(skip_serializing_if = …)]` is written only when not empty
//! (`ToJson::is_empty_field`); `#[serde(skip)]` is neither written nor read (its
//! default). Fields are written in declaration order, as serde writes
//! them. Anything else serde can do (`flatten`, enums with data) is refused at compile
//! time rather than guessed. The generated code names `::creditkit_pricing`, where both
//! traits live.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr};

struct Field {
    ident: syn::Ident,
    name: String,
    default: bool,
    skip_if_empty: bool,
    /// `#[serde(skip)]`: never written, read as its default.
    skip: bool,
}

fn fields(input: &DeriveInput) -> syn::Result<Vec<Field>> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "only structs with named fields",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "only structs with named fields",
        ));
    };
    let mut out = Vec::new();
    for f in &named.named {
        let ident = f.ident.clone().expect("named field");
        let mut field = Field {
            name: ident.to_string(),
            ident,
            default: false,
            skip_if_empty: false,
            skip: false,
        };
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("serde")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("default") {
                    field.default = true;
                    if meta.input.peek(syn::Token![=]) {
                        let _: LitStr = meta.value()?.parse()?;
                    }
                } else if meta.path.is_ident("skip_serializing_if") {
                    field.skip_if_empty = true;
                    let _: LitStr = meta.value()?.parse()?;
                } else if meta.path.is_ident("skip") {
                    field.skip = true;
                } else if meta.path.is_ident("rename") {
                    field.name = meta.value()?.parse::<LitStr>()?.value();
                } else {
                    return Err(meta.error("not supported by creditkit's FromJson/ToJson derives"));
                }
                Ok(())
            })?;
        }
        out.push(field);
    }
    Ok(out)
}

/// `impl FromJson`: one field reader per field.
#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input, from_json)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// `impl ToJson`: one writer per field, in declaration order.
#[proc_macro_derive(ToJson, attributes(serde))]
pub fn derive_to_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input, to_json)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

fn expand(input: &DeriveInput, body: fn(&DeriveInput, &[Field]) -> Tokens) -> syn::Result<Tokens> {
    let fields = fields(input)?;
    Ok(body(input, &fields))
}

fn from_json(input: &DeriveInput, fields: &[Field]) -> Tokens {
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let reads = fields.iter().map(|f| {
        let (ident, name) = (&f.ident, &f.name);
        if f.skip {
            quote! { #ident: ::core::default::Default::default() }
        } else if f.default {
            quote! { #ident: ::creditkit_pricing::from_json::field_or_default(o, #name)? }
        } else {
            quote! { #ident: ::creditkit_pricing::from_json::field(o, #name)? }
        }
    });
    quote! {
        impl #impl_generics ::creditkit_pricing::from_json::FromJson for #ty #ty_generics #where_clause {
            fn from_json(
                v: &::creditkit_pricing::json::Value,
            ) -> ::core::result::Result<Self, ::creditkit_pricing::from_json::DecodeError> {
                let o = ::creditkit_pricing::from_json::object(v)?;
                ::core::result::Result::Ok(#ty { #(#reads,)* })
            }
        }
    }
}

fn to_json(input: &DeriveInput, fields: &[Field]) -> Tokens {
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let writes = fields.iter().filter(|f| !f.skip).map(|f| {
        let (ident, key) = (&f.ident, format!("{}\":", f.name));
        let write = quote! {
            out.push_str(if first { "\"" } else { ",\"" });
            first = false;
            out.push_str(#key);
            ::creditkit_pricing::to_json::ToJson::write_json(&self.#ident, out);
        };
        if f.skip_if_empty {
            quote! { if !::creditkit_pricing::to_json::ToJson::is_empty_field(&self.#ident) { #write } }
        } else {
            write
        }
    });
    quote! {
        impl #impl_generics ::creditkit_pricing::to_json::ToJson for #ty #ty_generics #where_clause {
            fn write_json(&self, out: &mut ::std::string::String) {
                out.push('{');
                let mut first = true;
                #(#writes)*
                let _ = first;
                out.push('}');
            }
        }
    }
}
