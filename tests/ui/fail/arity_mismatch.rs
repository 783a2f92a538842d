// One event with different payload counts.
mod flow {
    plan_macros::plan! {
        file: "../plans/arity_mismatch.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
