// A transition to a misspelt state.
mod flow {
    plan_macros::plan! {
        file: "../plans/undefined_target.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
