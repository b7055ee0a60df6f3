//! ARCHITECTURE.md prints the permission table the code enforces, exactly.

#[test]
fn architecture_md_holds_the_enforced_permission_table() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ARCHITECTURE.md"
    ))
    .expect("ARCHITECTURE.md");
    let table = creditkit_api::access::table_markdown();
    assert!(
        doc.contains(&table),
        "ARCHITECTURE.md's permission table differs from the code's; paste this:\n\n{table}"
    );
}
