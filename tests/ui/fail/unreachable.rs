// A state no transition leads to.
mod flow {
    plan_macros::plan! {
        file: "../plans/unreachable.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
