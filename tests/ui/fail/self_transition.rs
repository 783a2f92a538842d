// A state that transitions to itself.
mod flow {
    plan_macros::plan! {
        file: "../plans/self_transition.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
