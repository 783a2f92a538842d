// States that cannot reach Finished.
mod flow {
    plan_macros::plan! {
        file: "../plans/trap.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
