// Tabs for indentation and inside a payload list.
mod flow {
    plan_macros::plan! {
        file: "../plans/odd_tabs.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

use plan_meta::rt::Plan as _;

fn main() {
    let meta = flow::Plan::meta();
    let names: Vec<&str> = meta.state_names().collect();
    assert_eq!(names, ["Empty", "Allocated", "Sealed", "Finished", "Abort"]);
    assert_eq!(flow::Plan::next(flow::State::Sealed, &flow::Event::Finish), Ok(flow::State::Finished));
    assert_eq!(meta.doc, "A small plan for the compile-fail cases.");
    assert_eq!(meta.state("Allocated").unwrap().doc, "a sector is allocated");
    assert_eq!(meta.state("Sealed").unwrap().transitions[1].doc, "done");
}
