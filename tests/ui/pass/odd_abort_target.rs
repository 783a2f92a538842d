// Abort written as a transition target.
mod flow {
    plan_macros::plan! {
        file: "../plans/odd_abort_target.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

use plan_meta::rt::Plan as _;

fn main() {
    let meta = flow::Plan::meta();
    let names: Vec<&str> = meta.state_names().collect();
    assert_eq!(names, ["Empty", "Allocated", "Sealed", "Finished", "Abort"]);
    assert_eq!(flow::Plan::next(flow::State::Sealed, &flow::Event::GiveUp), Ok(flow::State::Abort));
    let _: flow::Event = flow::outcome::Sealed::GiveUp.into();
}
