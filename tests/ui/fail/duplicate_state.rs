// Two blocks for one state.
mod flow {
    plan_macros::plan! {
        file: "../plans/duplicate_state.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
