// A plan without the initial state Empty.
mod flow {
    plan_macros::plan! {
        file: "../plans/missing_empty.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
