// Non-ASCII comments.
mod flow {
    plan_macros::plan! {
        file: "../plans/odd_non_ascii_comments.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

use plan_meta::rt::Plan as _;

fn main() {
    let meta = flow::Plan::meta();
    let names: Vec<&str> = meta.state_names().collect();
    assert_eq!(names, ["Empty", "Allocated", "Sealed", "Finished", "Abort"]);
    let empty = meta.state("Empty").unwrap();
    assert_eq!(empty.doc, "rien n'est fait — 扇区尚未分配 ✓");
    assert_eq!(empty.transitions[0].doc, "申请扇区 🚀");
}
