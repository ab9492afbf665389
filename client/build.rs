//! Generates the client from the checked-in OpenAPI 3.0 document (`openapi/ims-tags-3.0.json`), which the
//! server's `ims-tags openapi` command writes from its routes.

use std::path::Path;

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/ims-tags-3.0.json");
    println!("cargo:rerun-if-changed={}", spec.display());
    let text =
        std::fs::read_to_string(&spec).unwrap_or_else(|e| panic!("cannot read {}: {e}", spec.display()));
    let document: openapiv3::OpenAPI = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not an OpenAPI 3.0 document: {e}", spec.display()));
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::auth::Auth))
        .with_pre_hook_async(quote::quote!(crate::auth::authenticate));
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&document)
        .unwrap_or_else(|e| panic!("progenitor cannot generate a client from {}: {e}", spec.display()));
    let file: syn::File = syn::parse2(tokens).expect("progenitor emits valid Rust");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo")).join("ims_tags_client.rs");
    std::fs::write(&out, prettyplease::unparse(&file)).expect("the generated client can be written");
}
