// One event twice in a state, with different targets.
mod flow {
    plan_macros::plan! {
        file: "../plans/duplicate_event.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
