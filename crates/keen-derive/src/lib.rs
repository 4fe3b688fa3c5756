//! `#[derive(Module)]`: implements `keen_nn::Module` for a struct by visiting each field under
//! its own name, so variable paths read `decoder.attention.w1.kernel` with no hand-kept lists.
//!
//! Fields are visited in declaration order. A field whose type is not a module (a config
//! value, a closure) is marked `#[module(skip)]`; plain numbers, strings and booleans need no
//! mark because keen-nn implements `Module` for them as empty.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields};

/// Derives `keen_nn::Module` (see the crate docs).
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn is_skipped(attrs: &[syn::Attribute]) -> syn::Result<bool> {
    let mut skip = false;
    for a in attrs.iter().filter(|a| a.path().is_ident("module")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(m.error("unknown module attribute: expected `skip`"))
            }
        })?;
    }
    Ok(skip)
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "#[derive(Module)] supports structs; implement keen_nn::Module by hand for enums",
        ));
    };
    let mut visits = Vec::new();
    match &data.fields {
        Fields::Named(f) => {
            for field in &f.named {
                if is_skipped(&field.attrs)? {
                    continue;
                }
                let ident = field.ident.as_ref().expect("named field");
                let label = ident.to_string();
                visits.push(quote! { walk.field(#label, &self.#ident); });
            }
        }
        Fields::Unnamed(f) => {
            for (i, field) in f.unnamed.iter().enumerate() {
                if is_skipped(&field.attrs)? {
                    continue;
                }
                let idx = syn::Index::from(i);
                let label = i.to_string();
                visits.push(quote! { walk.field(#label, &self.#idx); });
            }
        }
        Fields::Unit => {}
    }
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(::keen_nn::Module));
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    Ok(quote! {
        impl #impl_g ::keen_nn::Module for #name #ty_g #where_g {
            fn visit(&self, walk: &mut ::keen_nn::Walk<'_>) {
                #(#visits)*
            }
        }
    })
}
