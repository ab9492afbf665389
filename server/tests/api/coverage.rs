//! Every operation in the checked-in document is called through the generated client by at least one test:
//! these integration tests or the conformance cases (`conformance/src/cases`), which `cargo test` runs against
//! ims-tags too.

use std::collections::BTreeSet;

#[test]
fn every_operation_is_called_through_the_generated_client() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = String::new();
    for dir in [root.join("tests/api"), root.join("../conformance/src/cases")] {
        for entry in std::fs::read_dir(&dir).expect("test sources") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "coverage.rs")
            {
                sources.push_str(&std::fs::read_to_string(&path).expect("source"));
            }
        }
    }
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/ims-tags.json"),
        )
        .expect("document"),
    )
    .expect("JSON");
    let mut missing = BTreeSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("item").values() {
            let id = operation["operationId"].as_str().expect("operationId");
            // A client call is the builder method followed by its parameters or `.send()`.
            if !sources.contains(&format!(".{id}()")) {
                missing.insert(id.to_owned());
            }
        }
    }
    assert!(missing.is_empty(), "operations never called through the generated client: {missing:?}");
}
